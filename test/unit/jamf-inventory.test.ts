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

async function setup(
  size: number,
  opts: Parameters<typeof startSimulators>[0] = {},
): Promise<{ sims: Simulators; api: JamfApi; ids: number[] }> {
  s = await startSimulators({ ...opts, fleet: { size, checkInDelayMs: [5, 20], ...opts.fleet } });
  api = createJamfClient({
    url: s.urls.jamf,
    clientId: s.creds.jamfClientId,
    clientSecret: s.creds.jamfClientSecret,
    retry: fast,
  });
  return { sims: s, api, ids: s.jamf.groupMembers().map((i) => s!.fleet.jamfId(i)) };
}

async function read(a: JamfApi, ids: readonly number[], since?: Date): Promise<JamfComputer[]> {
  return a.inventory(ids, 'Thoth Health', (c) => c, since ? { contactedSince: since } : {});
}

/** Jamf's answer to a filter on a field it does not know. */
const refusedField = (field: string) => ({
  status: 400,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    httpStatus: 400,
    errors: [{ code: 'INVALID_RSQL_FILTER_FIELD', description: `unknown field ${field}` }],
  }),
});

/** The computer ids of an `id=in=(…)` filter. */
const idsIn = (filter: string): Set<number> => new Set(/id=in=\(([^)]*)\)/.exec(filter)![1]!.split(',').map(Number));

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
    sims.faults.add({
      system: 'jamf',
      path: INVENTORY,
      nth: 1,
      times: 1,
      respond: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ totalCount: 50, results: first }),
      },
    });
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
    expect(decodeURIComponent(inventoryCalls(sims).at(-1)!.query)).toMatch(
      /;general\.lastContact>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/,
    );
  });

  it('reportedOnly: ids already known to have checked in come back only with inventory reported since', async () => {
    const { sims, api: a, ids } = await setup(40);
    const since = new Date(Date.now() + 1000);
    await new Promise((r) => setTimeout(r, 1100));
    const [contacted, reported, other] = [3, 4, 5].map((k) => sims.jamf.groupMembers()[k]!) as [number, number, number];
    for (const i of [contacted, reported, other]) sims.fleet.checkInNow(i); // blank push: contact, no inventory
    sims.fleet.reconNow(reported); // jamf recon: a new reportDate
    const known = new Set([contacted, reported].map((i) => sims.fleet.jamfId(i)));
    sims.log.clear();
    const got = await a.inventory(ids, 'Thoth Health', (c) => c, { contactedSince: since, reportedOnly: known });
    // `other` is not known to have checked in: its contact is news. `contacted` only checked in.
    expect(got.map((c) => Number(c.id)).sort((x, y) => x - y)).toEqual(
      [reported, other].map((i) => sims.fleet.jamfId(i)).sort((x, y) => x - y),
    );
    const filters = inventoryCalls(sims).map((e) => decodeURIComponent(new URLSearchParams(e.query).get('filter')!));
    expect(filters).toHaveLength(2); // one request per run of ids: never an OR of the two
    const [byContact, byReport] = filters as [string, string];
    expect(byContact).toMatch(/;general\.lastContact>=\S+Z$/);
    expect(byReport).toMatch(/^id=in=\(\d+,\d+\);general\.reportDate>=\S+Z$/);
    expect(idsIn(byReport)).toEqual(new Set([...known]));
    expect(idsIn(byContact)).toEqual(new Set(ids.filter((id) => !known.has(id))));
  });

  it('a server that refuses the reportDate filter gets the contact filter for those ids instead, and keeps the contact filter for the rest', async () => {
    const { sims, api: a, ids } = await setup(40);
    const since = new Date(Date.now() + 1000);
    await new Promise((r) => setTimeout(r, 1100));
    const members = sims.jamf.groupMembers();
    for (const i of members.slice(0, 6)) sims.fleet.checkInNow(i); // contact since, no new inventory
    const known = new Set(members.slice(3, 10).map((i) => sims.fleet.jamfId(i)));
    sims.faults.add({
      system: 'jamf',
      path: INVENTORY,
      query: /general\.reportDate>=/,
      times: Infinity,
      respond: refusedField('general.reportDate'),
    });
    sims.log.clear();
    const got = await a.inventory(ids, 'Thoth Health', (c) => c, { contactedSince: since, reportedOnly: known });
    // Nothing lost: every computer that contacted Jamf since comes back, known or not.
    expect(got.map((c) => Number(c.id)).sort((x, y) => x - y)).toEqual(
      members.slice(0, 6).map((i) => sims.fleet.jamfId(i)),
    );
    const filters = inventoryCalls(sims).map((e) => decodeURIComponent(new URLSearchParams(e.query).get('filter')!));
    expect(filters.filter((f) => f.includes('reportDate'))).toHaveLength(1); // asked once, refused
    const later = filters.filter((f) => !f.includes('reportDate'));
    expect(later.every((f) => /;general\.lastContact>=\S+Z$/.test(f))).toBe(true);
    expect(new Set(later.flatMap((f) => [...idsIn(f)]))).toEqual(new Set(ids));
    // The next read asks for the known ids by contact straight away.
    sims.log.clear();
    await a.inventory(ids, 'Thoth Health', (c) => c, { contactedSince: since, reportedOnly: known });
    expect(inventoryCalls(sims).every((e) => !decodeURIComponent(e.query).includes('reportDate'))).toBe(true);
  });

  it('falls back to ids only when Jamf refuses the lastContact filter', async () => {
    const { sims, api: a, ids } = await setup(30);
    sims.faults.add({
      system: 'jamf',
      path: INVENTORY,
      nth: 1,
      times: 1,
      respond: refusedField('general.lastContact'),
    });
    const got = await read(a, ids, new Date(Date.now() - 3_600_000 * 24 * 365));
    expect(got).toHaveLength(ids.length);
    expect(decodeURIComponent(inventoryCalls(sims).at(-1)!.query)).not.toContain('lastContact');
  });

  it('pushes in chunks of 1000, up to 5 at a time', async () => {
    const { sims, api: a } = await setup(2500);
    const mids = sims.jamf.groupMembers().map((i) => sims.fleet.managementId(i));
    expect(await a.blankPush(mids.map((managementId, id) => ({ id, managementId })))).toEqual([]);
    const pushes = sims.log.entries().filter((e) => e.path === '/api/v2/mdm/blank-push');
    expect(pushes).toHaveLength(3);
  });
});

describe('jamf client by server version (jamf-versions.ts)', () => {
  const v1Server = { jamf: { version: '11.5.1-t1718634702' } };
  const v3Server = { jamf: { version: '11.25.2-t1772925731845' } };

  it('reads jamf-pro-version once, then the version’s inventory path and field names (v1: lastContactTime)', async () => {
    const { sims, api: a, ids } = await setup(30, v1Server);
    expect((await a.apiShape()).version).toBe('11.5.1-t1718634702');
    const got = await read(a, ids);
    expect(got).toHaveLength(30);
    const c = got[0]!;
    expect(Object.keys(c).sort()).toEqual(['attribute', 'id', 'lastContact', 'managementId', 'name', 'reportDate']);
    const i = sims.fleet.indexByJamfId(Number(c.id))!;
    // v1–v3 lastContactTime is the binary check-in (channels: sim/jamf.ts), not the MDM contact v4 names lastContact.
    expect(Math.abs(Date.parse(c.lastContact!) - sims.fleet.lastCheckIn(i))).toBeLessThan(1000);
    expect(sims.log.entries().filter((e) => e.path === '/api/v1/jamf-pro-version')).toHaveLength(1);
    expect(
      sims.log.entries().filter((e) => e.path === '/api/v1/computers-inventory' && e.status === 200).length,
    ).toBeGreaterThan(0);
    expect(sims.log.entries().filter((e) => /\/api\/v[234]\/computers-inventory/.test(e.path))).toEqual([]);
  });

  it('v1–v3 filter a validation poll on general.lastContactTime, and the server filters on it', async () => {
    // No recurring binary check-in within the test (15 min by default, on each device's own phase).
    const { sims, api: a, ids } = await setup(40, { ...v3Server, fleet: { channels: { agentCheckInMs: Infinity } } });
    const since = new Date(Date.now() + 1000);
    expect(await read(a, ids, since)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1100));
    const i = sims.jamf.groupMembers()[5]!;
    // lastContactTime is the jamf binary's check-in: an MDM check-in (a blank push's) does not move it...
    sims.fleet.checkInNow(i);
    expect(await read(a, ids, since)).toEqual([]);
    // ...an inventory submission (the binary checks in to send it) does.
    sims.fleet.reconNow(i);
    expect((await read(a, ids, since)).map((c) => Number(c.id))).toEqual([sims.fleet.jamfId(i)]);
    const last = sims.log
      .entries()
      .filter((e) => e.path === '/api/v3/computers-inventory')
      .at(-1)!;
    expect(decodeURIComponent(last.query)).toMatch(/;general\.lastContactTime>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    expect(last.status).toBe(200);
  });

  it('before 11.23: members from Classic computergroups, blank push by Classic BlankPush in request-line-sized chunks', async () => {
    const { sims, api: a } = await setup(5000, v1Server);
    const members = await a.groupMembers(sims.ids.jamfGroupId);
    expect(members.sort((x, y) => x - y)).toEqual(
      sims.jamf
        .groupMembers()
        .map((i) => sims.fleet.jamfId(i))
        .sort((x, y) => x - y),
    );
    expect(sims.log.entries().filter((e) => /smart-group-membership/.test(e.path))).toEqual([]);
    const targets = sims.jamf.groupMembers().map((i) => ({ id: sims.fleet.jamfId(i), managementId: '' }));
    const before = sims.jamf.groupMembers().map((i) => sims.fleet.refreshes(i));
    expect(await a.blankPush(targets)).toEqual([]);
    expect(sims.jamf.groupMembers().map((i) => sims.fleet.refreshes(i))).toEqual(before.map((n) => n + 1));
    const pushes = sims.log
      .entries()
      .filter((e) => e.path.startsWith('/JSSResource/computercommands/command/BlankPush/id/'));
    expect(pushes.length).toBeGreaterThan(1);
    expect(Math.max(...pushes.map((e) => e.path.length))).toBeLessThanOrEqual(15_000);
    expect(sims.log.entries().filter((e) => e.path === '/api/v2/mdm/blank-push')).toEqual([]);
  });

  it('a Classic push Jamf refuses names those computers and goes on', async () => {
    const { sims, api: a } = await setup(5, v1Server);
    const targets = [
      { id: 999_999, managementId: '' },
      { id: 999_998, managementId: '' },
    ];
    expect((await a.blankPush(targets)).sort()).toEqual(['999998', '999999']);
    expect(
      sims.log
        .entries()
        .filter((e) => e.path.startsWith('/JSSResource/computercommands/'))
        .map((e) => e.status),
    ).toEqual([404]);
  });

  it('11.23+: a computer without a management id is refused up front, the rest pushed by management id', async () => {
    const { sims, api: a } = await setup(3, v3Server);
    const [i, j] = sims.jamf.groupMembers();
    const got = await a.blankPush([
      { id: sims.fleet.jamfId(i!), managementId: '' },
      { id: sims.fleet.jamfId(j!), managementId: sims.fleet.managementId(j!) },
    ]);
    expect(got).toEqual([String(sims.fleet.jamfId(i!))]);
    const pushes = sims.log.entries().filter((e) => e.path === '/api/v2/mdm/blank-push');
    expect(pushes.map((e) => JSON.parse(e.bodyText!).clientManagementIds)).toEqual([[sims.fleet.managementId(j!)]]);
  });

  it('a server older than 11.0 is refused before any other call, the error naming its version', async () => {
    const { sims, api: a } = await setup(3, { jamf: { version: '10.49.0-t1694607215' } });
    await expect(a.getProfile(sims.ids.jamfProfileId)).rejects.toThrow(
      /Jamf Pro 10\.49\.0-t1694607215; thoth-rotate supports Jamf Pro 11\.0 and later/,
    );
    await expect(a.putProfilePayloads(sims.ids.jamfProfileId, 'x')).rejects.toThrow(/10\.49\.0/);
    const paths = sims.log.entries().map((e) => `${e.method} ${e.path}`);
    expect(paths.filter((p) => !p.endsWith('/oauth/token'))).toEqual(['GET /api/v1/jamf-pro-version']);
  });
});
