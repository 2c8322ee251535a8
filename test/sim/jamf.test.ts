import { afterEach, describe, expect, it } from 'vitest';
import { NEWEST_JAMF_VERSION, readMobileconfig, startSimulators, type Simulators } from '../../sim/index.js';
import { cookieOf, jamfToken, thothHeaders, until, withSettings, xmlEscape } from './helpers.js';

let s: Simulators | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const auth = (t: string, extra: Record<string, string> = {}): Record<string, string> => ({
  authorization: `Bearer ${t}`,
  ...extra,
});

function profileUrl(sims: Simulators): string {
  return `${sims.urls.jamf}/JSSResource/osxconfigurationprofiles/id/${sims.ids.jamfProfileId}`;
}

function putBody(payloads: string, redeploy = 'All'): string {
  return `<os_x_configuration_profile><general><payloads>${xmlEscape(payloads)}</payloads><redeploy_on_update>${redeploy}</redeploy_on_update></general></os_x_configuration_profile>`;
}

async function putProfile(sims: Simulators, token: string, payloads: string, cookie = ''): Promise<Response> {
  return fetch(profileUrl(sims), {
    method: 'PUT',
    headers: auth(token, { 'content-type': 'application/xml', ...(cookie ? { cookie } : {}) }),
    body: putBody(payloads),
  });
}

async function inventory(
  sims: Simulators,
  token: string,
  query: string,
): Promise<{ totalCount: number; results: Record<string, any>[] }> {
  const r = await fetch(`${sims.urls.jamf}/api/v4/computers-inventory?${query}`, { headers: auth(token) });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as { totalCount: number; results: Record<string, any>[] };
}

describe('jamf sim: auth', () => {
  it('rejects bad client credentials with an RFC 6749 body', async () => {
    s = await startSimulators();
    const r = await fetch(`${s.urls.jamf}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: s.creds.jamfClientId,
        client_secret: 'wrong',
      }),
    });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('expires tokens after tokenTtlSeconds and honours invalidate-token', async () => {
    s = await startSimulators({ jamf: { tokenTtlSeconds: 1 } });
    const a = await jamfToken(s);
    expect((await fetch(profileUrl(s), { headers: auth(a.token) })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_050));
    const expired = await fetch(profileUrl(s), { headers: auth(a.token) });
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('<title>Status page</title>');
    const b = await jamfToken(s);
    expect(
      (await fetch(`${s.urls.jamf}/api/v1/auth/invalidate-token`, { method: 'POST', headers: auth(b.token) })).status,
    ).toBe(204);
    const dead = await fetch(`${s.urls.jamf}/api/v3/computer-groups/smart-group-membership/${s.ids.jamfGroupId}`, {
      headers: auth(b.token),
    });
    expect(dead.status).toBe(401);
    expect(await dead.json()).toMatchObject({ httpStatus: 401, errors: [{ code: 'INVALID_TOKEN' }] });
  });
});

describe('jamf sim: configuration profile', () => {
  it('serves the realistic profile: escaped plist, old key, second payload also named Thoth', async () => {
    s = await startSimulators();
    const { token } = await jamfToken(s);
    const xml = await (await fetch(profileUrl(s), { headers: auth(token) })).text();
    expect(xml).toMatch(/<redeploy_on_update>Newly Assigned<\/redeploy_on_update>/);
    expect(xml).toContain('<payloads>&lt;?xml version="1.0" encoding="UTF-8"?&gt;');
    expect(xml).toMatch(new RegExp(`<computer_group><id>${s.ids.jamfGroupId}</id>`));
    const payloads = s.jamf.profileVersions()[0] ?? '';
    expect(readMobileconfig(payloads)).toEqual({
      apiKey: s.thoth.plaintextOf(s.ids.oldKeyId),
      keyId: s.ids.oldKeyId,
      revoked: [],
    });
    expect(payloads.match(/<string>Thoth<\/string>/g)).toHaveLength(2);
    expect(payloads).toContain('com.atensecurity.thoth.updater');
  });

  it('stores a PUT as a new version (201), rejects an unparseable plist with a 409 status page, counts ghosts', async () => {
    s = await startSimulators();
    const { token } = await jamfToken(s);
    const old = s.jamf.profileVersions()[0] ?? '';
    const bad = await fetch(profileUrl(s), {
      method: 'PUT',
      headers: auth(token, { 'content-type': 'application/xml' }),
      body: putBody('<plist><dict><key>x</key></plist>'),
    });
    expect(bad.status).toBe(409);
    expect(await bad.text()).toContain('<p>Error: Unable to parse payload</p>');
    expect(s.jamf.profileVersions()).toHaveLength(1);

    const ok = await putProfile(s, token, withSettings(old, { apiKey: 'thoth_live_x', keyId: 'key_x' }));
    expect(ok.status).toBe(201);
    expect(await ok.text()).toContain(
      `<os_x_configuration_profile><id>${s.ids.jamfProfileId}</id></os_x_configuration_profile>`,
    );
    expect(s.jamf.profileVersions()).toHaveLength(2);
    expect(s.jamf.profileHistory()[1]).toMatchObject({ redeployOnUpdate: 'All', source: 'api' });
    expect(s.jamf.ghostProfiles).toBe(0);
    const readBack = await (await fetch(profileUrl(s), { headers: auth(token, { cookie: cookieOf(ok) }) })).text();
    expect(readBack).toContain('<redeploy_on_update>Newly Assigned</redeploy_on_update>');

    const ghost = old.replace(/com\.acme\.corpsec\.thoth\.runtime\.[0-9A-F-]+/, 'com.acme.corpsec.thoth.runtime.NEW');
    expect((await putProfile(s, token, ghost)).status).toBe(201);
    expect(s.jamf.ghostProfiles).toBe(1);
  });

  it('a read that drops the sticky cookie right after a write sees the previous version', async () => {
    s = await startSimulators({ jamf: { replicationLagMs: 1_000 } });
    const { token, cookie } = await jamfToken(s);
    const next = withSettings(s.jamf.profileVersions()[0] ?? '', { apiKey: 'thoth_live_new', keyId: 'key_new' });
    expect((await putProfile(s, token, next, cookie)).status).toBe(201);
    const stale = await (await fetch(profileUrl(s), { headers: auth(token) })).text();
    expect(stale).toContain(s.ids.oldKeyId);
    const sticky = await (await fetch(profileUrl(s), { headers: auth(token, { cookie }) })).text();
    expect(sticky).toContain('key_new');
    await new Promise((r) => setTimeout(r, 1_050));
    expect(await (await fetch(profileUrl(s), { headers: auth(token) })).text()).toContain('key_new');
  });
});

describe('jamf sim: groups and inventory', () => {
  it('lists smart group members; a static group is 404 there and listed by Classic', async () => {
    s = await startSimulators({ fleet: { size: 4 } });
    const { token } = await jamfToken(s);
    const m = (await (
      await fetch(`${s.urls.jamf}/api/v3/computer-groups/smart-group-membership/${s.ids.jamfGroupId}`, {
        headers: auth(token),
      })
    ).json()) as { members: number[] };
    expect(m.members).toEqual(s.fleet.endpoints().map((e) => e.jamfId));
    await s.close();

    s = await startSimulators({ fleet: { size: 4 }, jamf: { staticGroup: true } });
    const t2 = (await jamfToken(s)).token;
    const nf = await fetch(`${s.urls.jamf}/api/v3/computer-groups/smart-group-membership/${s.ids.jamfGroupId}`, {
      headers: auth(t2),
    });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ httpStatus: 404, errors: [{ code: 'NOT_FOUND' }] });
    const classic = await (
      await fetch(`${s.urls.jamf}/JSSResource/computergroups/id/${s.ids.jamfGroupId}`, { headers: auth(t2) })
    ).text();
    expect(classic).toContain('<is_smart>false</is_smart>');
    expect(classic.match(/<computer><id>/g)).toHaveLength(4);
  });

  it('pages inventory (0-based), filters with RSQL, sorts, and caps page-size', async () => {
    s = await startSimulators({ fleet: { size: 30 } });
    const { token } = await jamfToken(s);
    const all = await inventory(s, token, 'section=GENERAL&page=0&page-size=100');
    expect(all.totalCount).toBe(33); // 30 fleet Macs + 3 company Macs outside the group
    const p1 = await inventory(
      s,
      token,
      `section=GENERAL&section=EXTENSION_ATTRIBUTES&page=1&page-size=10&filter=${encodeURIComponent('id=in=(101,102,103,104,105,106,107,108,109,110,111,112)')}`,
    );
    expect(p1.totalCount).toBe(12);
    expect(p1.results.map((r) => r['id'])).toEqual(['111', '112']);
    const ea = (p1.results[0]!['extensionAttributes'] as { name: string; values: string[] }[]).find(
      (e) => e.name === 'Thoth Health',
    );
    expect(JSON.parse(ea?.values[0] ?? '{}')).toMatchObject({
      registration_ok: true,
      api_key: { key_id: s.ids.oldKeyId, revoked: false },
    });
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(
      (await inventory(s, token, `filter=${encodeURIComponent(`id=in=(101,102);general.lastContact>=${since}`)}`))
        .totalCount,
    ).toBe(0);
    const desc = await inventory(s, token, 'page-size=2&sort=id:desc');
    expect(desc.results.map((r) => r['id'])).toEqual(['133', '132']);
    const big = await fetch(`${s.urls.jamf}/api/v4/computers-inventory?page-size=2001`, { headers: auth(token) });
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({ httpStatus: 400, errors: [{ field: 'page-size' }] });
    const badFilter = await fetch(
      `${s.urls.jamf}/api/v4/computers-inventory?filter=${encodeURIComponent('id=in=(1')}`,
      { headers: auth(token) },
    );
    expect(badFilter.status).toBe(400);
  });
});

describe('jamf sim: blank push and endpoint check-in', () => {
  it('online endpoints adopt a valid new key; stuck keep theirs; offline never check in', async () => {
    s = await startSimulators({ fleet: { size: 8, stuck: 1, offline: 1, inactive: 1, checkInDelayMs: [5, 30] } });
    const { token, cookie } = await jamfToken(s);
    const { keyId, apiKey } = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read', 'execute'],
    });
    expect((await putProfile(s, token, withSettings(s.jamf.currentPayloads(), { apiKey, keyId }), cookie)).status).toBe(
      201,
    );
    expect(s.fleet.keyCounts()).toEqual({ [s.ids.oldKeyId]: 8 }); // adoption waits for a refresh
    const ids = s.fleet.endpoints().map((e) => e.managementId);
    const t0 = Date.now();
    const push = await fetch(`${s.urls.jamf}/api/v2/mdm/blank-push`, {
      method: 'POST',
      headers: auth(token, { 'content-type': 'application/json' }),
      body: JSON.stringify({ clientManagementIds: [...ids, '00000000-0000-4000-8000-000000000000'] }),
    });
    expect(push.status).toBe(200);
    expect(await push.json()).toEqual({ errorUuids: ['00000000-0000-4000-8000-000000000000'] });
    const stuck = s.fleet.indices({ behaviour: 'stuck' })[0] ?? -1;
    const offline = s.fleet.indices({ behaviour: 'offline' })[0] ?? -1;
    await until(() => s!.fleet.keyCounts()[keyId] === 5 && s!.fleet.checkIns(stuck) === 1);
    expect(s.fleet.keyId(stuck)).toBe(s.ids.oldKeyId);
    expect(s.fleet.checkIns(offline)).toBe(0);

    // The MDM check-in moves lastContact; the extension attribute waits for an inventory submission.
    const since = `section=GENERAL&section=EXTENSION_ATTRIBUTES&page-size=100&filter=${encodeURIComponent(`general.lastContact>=${new Date(t0).toISOString()}`)}`;
    const eaKeys = (inv: { results: Record<string, unknown>[] }) =>
      inv.results.map(
        (r) =>
          (
            JSON.parse(
              (r['extensionAttributes'] as { name: string; values: string[] }[]).find((e) => e.name === 'Thoth Health')
                ?.values[0] ?? '{}',
            ) as { api_key: { key_id: string } }
          ).api_key.key_id,
      );
    const pushed = await inventory(s, token, since);
    expect(pushed.totalCount).toBe(6);
    expect(eaKeys(pushed).filter((k) => k === keyId)).toHaveLength(0);
    expect(pushed.results.every((r) => Date.parse((r['general'] as { reportDate: string }).reportDate) < t0)).toBe(
      true,
    );
    for (const i of s.fleet.indices({ inFleet: true })) s.fleet.reconNow(i);
    const reported = await inventory(s, token, since);
    expect(eaKeys(reported).filter((k) => k === keyId)).toHaveLength(5);

    // The control plane hears the new key at the proxy's next heartbeat.
    const rows = async () =>
      (
        (await (
          await fetch(`${s!.urls.thoth}/acme/thoth/endpoints?fleet_id=${s!.ids.fleetId}`, { headers: thothHeaders(s!) })
        ).json()) as { data: { managed_runtime_key_id: string; last_seen: string }[] }
      ).data;
    let eps = await rows();
    for (
      const end = Date.now() + 3000;
      eps.filter((e) => e.managed_runtime_key_id === keyId).length < 5 && Date.now() < end;
      eps = await rows()
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(eps.filter((e) => e.managed_runtime_key_id === keyId)).toHaveLength(5);
    expect(eps.filter((e) => Date.parse(e.last_seen) >= t0)).toHaveLength(6);
  });

  it('keeps the old key when the delivered key is revoked, unknown, or the wrong plaintext', async () => {
    s = await startSimulators({ fleet: { size: 3, checkInDelayMs: [1, 5] } });
    const { token } = await jamfToken(s);
    const revoked = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read'],
    });
    s.thoth.revokeKey(revoked.keyId);
    const good = s.thoth.createKeyDirect({ scopeLevel: 'fleet', scopeTargetId: s.ids.fleetId, permissions: ['read'] });
    for (const deliver of [
      revoked,
      { keyId: 'key_doesnotexist000000', apiKey: 'thoth_live_nope' },
      { keyId: good.keyId, apiKey: `${good.apiKey}X` },
    ]) {
      s.jamf.setPayloads(withSettings(s.jamf.currentPayloads(), deliver));
      const before = s.fleet.checkIns(0);
      await fetch(`${s.urls.jamf}/api/v2/mdm/blank-push`, {
        method: 'POST',
        headers: auth(token, { 'content-type': 'application/json' }),
        body: JSON.stringify({ clientManagementIds: [s.fleet.managementId(0)] }),
      });
      await until(() => s!.fleet.checkIns(0) === before + 1);
      expect(s.fleet.keyId(0)).toBe(s.ids.oldKeyId);
    }
  });

  it('reports revoked:true when its key is in the delivered revoked list or revoked in Thoth', async () => {
    s = await startSimulators({ fleet: { size: 2, stuck: 1, checkInDelayMs: [1, 5] } });
    const stuck = s.fleet.indices({ behaviour: 'stuck' })[0] ?? 0;
    const online = 1 - stuck;
    const fresh = s.thoth.createKeyDirect({ scopeLevel: 'fleet', scopeTargetId: s.ids.fleetId, permissions: ['read'] });
    s.jamf.setPayloads(withSettings(s.jamf.currentPayloads(), { ...fresh, revoked: [s.ids.oldKeyId] }));
    s.fleet.refresh(stuck);
    s.fleet.refresh(online);
    await until(() => s!.fleet.checkIns(stuck) === 1 && s!.fleet.checkIns(online) === 1);
    expect(JSON.parse(s.fleet.health(stuck) ?? '{}')).toMatchObject({
      api_key: { key_id: s.ids.oldKeyId, revoked: true },
    });
    expect(JSON.parse(s.fleet.health(online) ?? '{}')).toMatchObject({
      api_key: { key_id: fresh.keyId, revoked: false },
    });
    expect(s.fleet.revokedKnown(online)).toEqual([s.ids.oldKeyId]);
    s.thoth.revokeKey(fresh.keyId);
    s.fleet.checkInNow(online);
    expect(JSON.parse(s.fleet.health(online) ?? '{}')).toMatchObject({
      api_key: { key_id: fresh.keyId, revoked: true },
    });
  });
});

describe('jamf sim: server versions (sim/jamf-versions.ts)', () => {
  const get = async (sims: Simulators, token: string, p: string): Promise<Response> =>
    fetch(`${sims.urls.jamf}${p}`, { headers: auth(token) });

  it('jamf-pro-version answers the configured version; the default is the newest schema known', async () => {
    s = await startSimulators();
    const { token } = await jamfToken(s);
    expect(await (await get(s, token, '/api/v1/jamf-pro-version')).json()).toEqual({ version: NEWEST_JAMF_VERSION });
    await s.close();
    s = await startSimulators({ jamf: { version: '11.5.1-t1718634702' } });
    const t2 = await jamfToken(s);
    expect(await (await get(s, t2.token, '/api/v1/jamf-pro-version')).json()).toEqual({
      version: '11.5.1-t1718634702',
    });
  });

  it('paths a version does not have answer Jamf Pro’s own 404 {httpStatus:404, errors:[]}', async () => {
    s = await startSimulators({ jamf: { version: '11.5.1-t1718634702' } });
    const { token } = await jamfToken(s);
    for (const p of [
      '/api/v4/computers-inventory',
      '/api/v3/computers-inventory',
      `/api/v3/computer-groups/smart-group-membership/${s.ids.jamfGroupId}`,
      `/api/v2/computer-groups/smart-group-membership/${s.ids.jamfGroupId}`,
    ]) {
      const r = await get(s, token, p);
      expect(r.status, p).toBe(404);
      expect(await r.json()).toEqual({ httpStatus: 404, errors: [] });
    }
    const push = await fetch(`${s.urls.jamf}/api/v2/mdm/blank-push`, {
      method: 'POST',
      headers: auth(token, { 'content-type': 'application/json' }),
      body: '{"clientManagementIds":[]}',
    });
    expect(push.status).toBe(404);
    expect((await get(s, token, '/api/v1/computers-inventory?section=GENERAL')).status).toBe(200);
  });

  it('v1–v3 inventory names the contact general.lastContactTime (no lastContact/lastCheckIn) and filters on it; v4 the other way round', async () => {
    s = await startSimulators({ fleet: { size: 6 }, jamf: { version: '11.27.1-t1777388207638' } });
    const { token } = await jamfToken(s);
    for (const v of ['v1', 'v2', 'v3']) {
      const r = await get(s, token, `/api/${v}/computers-inventory?section=GENERAL&page-size=10`);
      const body = (await r.json()) as { results: { general: Record<string, unknown> }[] };
      const g = body.results[0]!.general;
      expect(g['lastContactTime'], v).toMatch(/^\d{4}-/);
      expect(g).not.toHaveProperty('lastContact');
      expect(g).not.toHaveProperty('lastCheckIn');
      expect(g['reportDate']).toMatch(/^\d{4}-/);
    }
    const ok = await get(
      s,
      token,
      `/api/v3/computers-inventory?filter=${encodeURIComponent('general.lastContactTime>=2000-01-01T00:00:00Z')}`,
    );
    expect(ok.status).toBe(200);
    const refused = await get(
      s,
      token,
      `/api/v3/computers-inventory?filter=${encodeURIComponent('general.lastContact>=2000-01-01T00:00:00Z')}`,
    );
    expect(refused.status).toBe(400);
    expect((await get(s, token, '/api/v4/computers-inventory')).status).toBe(404);
    await s.close();

    s = await startSimulators({ fleet: { size: 6 } });
    const t2 = await jamfToken(s);
    const v4 = await inventory(s, t2.token, 'section=GENERAL');
    expect(v4.results[0]!.general).toHaveProperty('lastContact');
    expect(v4.results[0]!.general).toHaveProperty('lastCheckIn');
    expect(v4.results[0]!.general).not.toHaveProperty('lastContactTime');
    expect(
      (
        await get(
          s,
          t2.token,
          `/api/v4/computers-inventory?filter=${encodeURIComponent('general.lastContactTime>=2000-01-01T00:00:00Z')}`,
        )
      ).status,
    ).toBe(400);
  });

  it('Classic BlankPush (before 11.28) refreshes the listed computers; gone from 11.28 on', async () => {
    s = await startSimulators({ fleet: { size: 4 }, jamf: { version: '11.22.0' } });
    const { token } = await jamfToken(s);
    const [a, b] = s.jamf.groupMembers();
    const before = [s.fleet.refreshes(a!), s.fleet.refreshes(b!)];
    const r = await fetch(
      `${s.urls.jamf}/JSSResource/computercommands/command/BlankPush/id/${s.fleet.jamfId(a!)},${s.fleet.jamfId(b!)}`,
      { method: 'POST', headers: auth(token) },
    );
    expect(r.status).toBe(201);
    expect(await r.text()).toMatch(/<computer_command><command><name>BlankPush<\/name>/);
    expect([s.fleet.refreshes(a!), s.fleet.refreshes(b!)]).toEqual(before.map((n) => n + 1));
    expect(s.log.mutations().map((e) => e.path)).toContain(
      `/JSSResource/computercommands/command/BlankPush/id/${s.fleet.jamfId(a!)},${s.fleet.jamfId(b!)}`,
    );
    await s.close();

    s = await startSimulators({ fleet: { size: 4 }, jamf: { version: '11.28.0-t1778099559180' } });
    const t2 = await jamfToken(s);
    const gone = await fetch(
      `${s.urls.jamf}/JSSResource/computercommands/command/BlankPush/id/${s.fleet.jamfId(s.jamf.groupMembers()[0]!)}`,
      { method: 'POST', headers: auth(t2.token) },
    );
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain('<title>Status page</title>');
  });
});
