/**
 * The Jamf inventory reader against the simulator: full pages of ids, the limits it learns
 * when Jamf refuses (page-size 400, request line 431, a page silently cut short), and the
 * `general.lastContact` filter validation polls use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { createJamfClient, JAMF_MAX_PAGE_SIZE, type JamfApi, type JamfComputer } from '../../src/clients/jamf.js';

let s: Simulators | undefined;
let api: JamfApi | undefined;
afterEach(async () => {
  await api?.close();
  await s?.close();
  api = s = undefined;
});

const INVENTORY = '/api/v4/computers-inventory';
const fast = { attempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 };

async function setup(size: number, opts: Parameters<typeof startSimulators>[0] = {}): Promise<{ sims: Simulators; api: JamfApi; ids: number[] }> {
  s = await startSimulators({ ...opts, fleet: { size, checkInDelayMs: [5, 20], ...opts.fleet } });
  api = createJamfClient({ url: s.urls.jamf, clientId: s.creds.jamfClientId, clientSecret: s.creds.jamfClientSecret, retry: fast });
  return { sims: s, api, ids: s.jamf.groupMembers().map((i) => s!.fleet.jamfId(i)) };
}

async function read(a: JamfApi, ids: readonly number[], since?: Date): Promise<JamfComputer[]> {
  return a.inventory(ids, 'Thoth Health', (c) => c, since ? { contactedSince: since } : {});
}

const inventoryCalls = (sims: Simulators) => sims.log.entries().filter((e) => e.path === INVENTORY);

describe('jamf inventory', () => {
  it('reads 2000 ids per request, commas raw, and only the fields the action uses', async () => {
    const { sims, api: a, ids } = await setup(4500);
    const got = await read(a, ids);
    expect(got.map((c) => Number(c.id)).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    const calls = inventoryCalls(sims);
    expect(calls).toHaveLength(Math.ceil(ids.length / JAMF_MAX_PAGE_SIZE));
    expect(calls[0]!.query).toMatch(/filter=id%3Din%3D\(\d+,\d+,/);
    expect(sims.log.maxConcurrent('jamf')).toBeLessThanOrEqual(5);
    const c = got[0]!;
    expect(Object.keys(c).sort()).toEqual(['attribute', 'id', 'lastContact', 'managementId', 'name', 'reportDate']);
    expect(c.attribute?.[0]).toContain('"key_id"');
  });

  it('learns a smaller page size from a 400 that names page-size', async () => {
    const { sims, api: a, ids } = await setup(1200, { jamf: { maxPageSize: 500 } });
    const got = await read(a, ids);
    expect(new Set(got.map((c) => c.id)).size).toBe(ids.length);
    const ok = inventoryCalls(sims).filter((e) => e.status === 200);
    expect(ok.every((e) => Number(new URLSearchParams(e.query).get('page-size')) <= 500)).toBe(true);
    // One refusal, then pages the server accepts (not one refusal per chunk).
    expect(inventoryCalls(sims).filter((e) => e.status === 400).length).toBe(1);
  });

  it('halves the request line after a 431 and still reads every id', async () => {
    const { sims, api: a, ids } = await setup(3000);
    sims.faults.add({ system: 'jamf', path: INVENTORY, nth: 1, times: 1, respond: { status: 431, body: '' } });
    const got = await read(a, ids);
    expect(new Set(got.map((c) => c.id)).size).toBe(ids.length);
    const later = inventoryCalls(sims).slice(1);
    expect(Math.max(...later.map((e) => e.query.length))).toBeLessThan(inventoryCalls(sims)[0]!.query.length);
  });

  it('asks again for the ids a page silently cut short', async () => {
    const { sims, api: a, ids } = await setup(50);
    // A server that caps page-size at 10 without saying so: totalCount 50, 10 results.
    const first = ids.slice(0, 10).map((id) => ({ id: String(id), general: { name: `mac-${id}` } }));
    sims.faults.add({ system: 'jamf', path: INVENTORY, nth: 1, times: 1, respond: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ totalCount: 50, results: first }) } });
    const got = await read(a, ids);
    expect(new Set(got.map((c) => c.id)).size).toBe(50);
    const second = inventoryCalls(sims)[1]!;
    expect(Number(new URLSearchParams(second.query).get('page-size'))).toBeLessThanOrEqual(10);
  });

  it('with contactedSince returns only computers that contacted Jamf since then', async () => {
    const { sims, api: a, ids } = await setup(40);
    const since = new Date(Date.now() + 1000); // nobody has contacted Jamf after this yet
    expect(await read(a, ids, since)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    const i = sims.jamf.groupMembers()[3]!;
    sims.fleet.checkInNow(i);
    const got = await read(a, ids, since);
    expect(got.map((c) => Number(c.id))).toEqual([sims.fleet.jamfId(i)]);
    expect(decodeURIComponent(inventoryCalls(sims).at(-1)!.query)).toMatch(/;general\.lastContact>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
  });

  it('falls back to ids only when Jamf refuses the lastContact filter', async () => {
    const { sims, api: a, ids } = await setup(30);
    sims.faults.add({
      system: 'jamf', path: INVENTORY, nth: 1, times: 1,
      respond: { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ httpStatus: 400, errors: [{ code: 'INVALID_RSQL_FILTER_FIELD', description: 'unknown field general.lastContact' }] }) },
    });
    const got = await read(a, ids, new Date(Date.now() - 3_600_000 * 24 * 365));
    expect(got).toHaveLength(ids.length);
    expect(decodeURIComponent(inventoryCalls(sims).at(-1)!.query)).not.toContain('lastContact');
  });

  it('pushes in chunks of 1000, up to 5 at a time', async () => {
    const { sims, api: a } = await setup(2500);
    const mids = sims.jamf.groupMembers().map((i) => sims.fleet.managementId(i));
    expect(await a.blankPush(mids)).toEqual([]);
    const pushes = sims.log.entries().filter((e) => e.path === '/api/v2/mdm/blank-push');
    expect(pushes).toHaveLength(3);
  });
});
