import { afterEach, describe, expect, it } from 'vitest';
import { buildDetectionScript, startSimulators, type SimOptions, type Simulators } from '../../sim/index.js';
import { graphToken, until, withSettings } from './helpers.js';

let s: Simulators | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

type Json = Record<string, unknown>;

async function start(o: SimOptions = {}): Promise<{
  sims: Simulators;
  get: (u: string, h?: Json) => Promise<Response>;
  send: (m: string, u: string, body: unknown) => Promise<Response>;
}> {
  const sims = (s = await startSimulators({ ...o, fleet: { mdm: 'intune', checkInDelayMs: [1, 10], ...o.fleet } }));
  const token = await graphToken(sims);
  const abs = (u: string): string => (u.startsWith('http') ? u : `${sims.urls.graph}${u}`);
  return {
    sims,
    get: (u, h = {}) =>
      fetch(abs(u), { headers: { authorization: `Bearer ${token}`, ...(h as Record<string, string>) } }),
    send: (m, u, body) =>
      fetch(abs(u), {
        method: m,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}

const EV = { ConsistencyLevel: 'eventual' };

describe('login sim', () => {
  it('rejects a wrong secret (7000215) and a scope that is not <graphUrl>/.default', async () => {
    s = await startSimulators();
    const url = `${s.urls.login}/${s.creds.azureTenantId}/oauth2/v2.0/token`;
    const form = (o: Record<string, string>): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: s!.creds.azureClientId,
        client_secret: s!.creds.azureClientSecret,
        scope: `${s!.urls.graph}/.default`,
        ...o,
      }),
    });
    const bad = await fetch(url, form({ client_secret: 'nope' }));
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    const scope = await fetch(url, form({ scope: 'https://graph.microsoft.com/.default' }));
    expect(scope.status).toBe(400);
    expect(await scope.json()).toMatchObject({ error: 'invalid_scope' });
    const ok = (await (await fetch(url, form({}))).json()) as Json;
    expect(ok).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
  });

  it('graph answers 401 InvalidAuthenticationToken once the token expires', async () => {
    const { sims, get } = await start({ graph: { tokenTtlSeconds: 1 } });
    expect((await get(`/v1.0/deviceManagement/deviceConfigurations/${sims.ids.macosConfigurationId}`)).status).toBe(
      200,
    );
    await new Promise((r) => setTimeout(r, 1_050));
    const r = await get(`/v1.0/deviceManagement/deviceConfigurations/${sims.ids.macosConfigurationId}`);
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
  });
});

describe('graph sim: membership and devices', () => {
  it('pages transitive device members with nextLink, requiring ConsistencyLevel on every page', async () => {
    const { sims, get } = await start({ fleet: { size: 250 } });
    const first = `/v1.0/groups/${sims.ids.graphGroupId}/transitiveMembers/microsoft.graph.device?$count=true&$select=id,deviceId,displayName`;
    const noHeader = await get(first);
    expect(noHeader.status).toBe(400);
    expect(await noHeader.json()).toMatchObject({ error: { code: 'Request_UnsupportedQuery' } });
    const p1 = (await (await get(first, EV)).json()) as Json & { value: Json[] };
    expect(p1['@odata.count']).toBe(250);
    expect(p1.value).toHaveLength(100);
    expect(Object.keys(p1.value[0] ?? {}).sort()).toEqual(['deviceId', 'displayName', 'id']);
    const next = String(p1['@odata.nextLink']);
    expect(next.startsWith(`${sims.urls.graph}/v1.0/groups/`)).toBe(true);
    expect(next).toContain('$skiptoken=');
    expect((await get(next)).status).toBe(400);
    const p2 = (await (await get(next, EV)).json()) as Json & { value: Json[] };
    expect(p2['@odata.count']).toBeUndefined();
    const p3 = (await (await get(String(p2['@odata.nextLink']), EV)).json()) as Json & { value: Json[] };
    expect(p3['@odata.nextLink']).toBeUndefined();
    const ids = [...p1.value, ...p2.value, ...p3.value].map((d) => d['deviceId']);
    expect(new Set(ids).size).toBe(250);
    expect((await get(first.replace('$count=true', '$count=true&$top=1000'), EV)).status).toBe(400);
  });

  it('flattens nested groups and reaches user-owned devices through the user', async () => {
    const { sims, get } = await start({
      fleet: { size: 30 },
      graph: { nestedGroups: true, userMembers: 4, membersPageSize: 999 },
    });
    const base = `/v1.0/groups/${sims.ids.graphGroupId}`;
    const devs = (await (
      await get(`${base}/transitiveMembers/microsoft.graph.device?$count=true&$select=id,deviceId`, EV)
    ).json()) as { value: Json[] };
    expect(devs.value).toHaveLength(26);
    const direct = (await (await get(`${base}/members/microsoft.graph.device?$count=true`, EV)).json()) as {
      value: Json[];
    };
    expect(direct.value.length).toBeLessThan(26);
    const users = (await (
      await get(`${base}/transitiveMembers/microsoft.graph.user?$count=true&$select=id`, EV)
    ).json()) as { value: { id: string }[] };
    expect(users.value).toHaveLength(4);
    const owned = (await (
      await get(`/v1.0/users/${users.value[0]?.id ?? ''}/managedDevices?$select=id,azureADDeviceId`)
    ).json()) as { value: Json[] };
    expect(owned.value).toHaveLength(1);
    const all = new Set([...devs.value.map((d) => d['deviceId'])]);
    expect(all.has(owned.value[0]?.['azureADDeviceId'])).toBe(false);
  });

  it('lists every managed device (10% outside the group) in pages; joins on azureADDeviceId', async () => {
    const { sims, get } = await start({ fleet: { size: 40, os: 'mixed' }, graph: { devicesPageSize: 25 } });
    const rows: Json[] = [];
    let url: string | undefined =
      `/v1.0/deviceManagement/managedDevices?$select=id,deviceName,azureADDeviceId,lastSyncDateTime,operatingSystem&$filter=${encodeURIComponent("operatingSystem eq 'macOS'")}`;
    while (url) {
      const page = (await (await get(url)).json()) as Json & { value: Json[] };
      rows.push(...page.value);
      url = page['@odata.nextLink'] as string | undefined;
    }
    expect(rows).toHaveLength(44); // $filter ignored, as Graph sometimes does
    expect(new Set(rows.map((r) => r['operatingSystem']))).toEqual(new Set(['macOS', 'Windows']));
    const inFleet = new Set(sims.fleet.endpoints().map((e) => e.entraDeviceId));
    expect(rows.filter((r) => inFleet.has(String(r['azureADDeviceId'])))).toHaveLength(40);
  });
});

describe('graph sim: configuration, sync and check-in', () => {
  it('PATCH needs @odata.type; a macOS device adopts the key after syncDevice', async () => {
    const { sims, get, send } = await start({ fleet: { size: 3 } });
    const url = `/v1.0/deviceManagement/deviceConfigurations/${sims.ids.macosConfigurationId}`;
    const cfg = (await (await get(url)).json()) as Json;
    expect(cfg).toMatchObject({
      '@odata.type': '#microsoft.graph.macOSCustomConfiguration',
      version: 1,
      payloadFileName: 'thoth-runtime.mobileconfig',
    });
    const { keyId, apiKey } = sims.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: sims.ids.fleetId,
      permissions: ['read'],
    });
    const payload = Buffer.from(
      withSettings(Buffer.from(String(cfg['payload']), 'base64').toString(), { apiKey, keyId }),
    ).toString('base64');
    expect((await send('PATCH', url, { payload })).status).toBe(400);
    expect(
      (
        await send('PATCH', url, {
          '@odata.type': '#microsoft.graph.macOSCustomConfiguration',
          payloadName: 'Thoth',
          payloadFileName: 'thoth-runtime.mobileconfig',
          payload,
        })
      ).status,
    ).toBe(204);
    expect(((await (await get(url)).json()) as Json)['version']).toBe(2);
    expect(sims.graph.configVersions()).toHaveLength(2);
    const dev = sims.fleet.managedDeviceId(0);
    const before = sims.fleet.lastSync(0);
    expect((await send('POST', `/v1.0/deviceManagement/managedDevices/${dev}/syncDevice`, undefined)).status).toBe(204);
    await until(() => sims.fleet.keyId(0) === keyId);
    expect(sims.graph.syncs(dev)).toBe(1);
    const md = (await (
      await get(`/v1.0/deviceManagement/managedDevices/${dev}?$select=id,lastSyncDateTime`)
    ).json()) as Json;
    expect(Date.parse(String(md['lastSyncDateTime']))).toBeGreaterThan(before);
    expect(sims.fleet.keyId(1)).toBe(sims.ids.oldKeyId);
    expect(
      (
        await send(
          'POST',
          '/v1.0/deviceManagement/managedDevices/00000000-0000-4000-8000-000000000000/syncDevice',
          undefined,
        )
      ).status,
    ).toBe(404);
  });

  it('a Windows device runs the remediation it fetched (on demand, not on syncDevice) and reports health in deviceRunStates', async () => {
    const { sims, get, send } = await start({ fleet: { size: 2, os: 'windows' } });
    const url = `/beta/deviceManagement/deviceHealthScripts/${sims.ids.remediationId}`;
    expect((await get(url.replace('/beta/', '/v1.0/'))).status).toBe(400);
    const script = Buffer.from(
      String(((await (await get(url)).json()) as Json)['remediationScriptContent']),
      'base64',
    ).toString();
    expect(script).toContain(`$ThothApiKeyId = '${sims.ids.oldKeyId}'`);
    const { keyId, apiKey } = sims.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: sims.ids.fleetId,
      permissions: ['read'],
    });
    const next = script
      .replace(/\$ThothApiKey = '[^']*'/, `$ThothApiKey = '${apiKey}'`)
      .replace(/\$ThothApiKeyId = '[^']*'/, `$ThothApiKeyId = '${keyId}'`)
      .replace(/\$ThothRevokedApiKeyIds = '[^']*'/, `$ThothRevokedApiKeyIds = '["${sims.ids.oldKeyId}"]'`);
    const detection = buildDetectionScript({ keyId, revoked: [sims.ids.oldKeyId] });
    const b64 = (t: string): string => Buffer.from(t).toString('base64');
    expect(
      (
        await send('PATCH', url, {
          '@odata.type': '#microsoft.graph.deviceHealthScript',
          detectionScriptContent: b64(detection),
          remediationScriptContent: b64(next),
        })
      ).status,
    ).toBe(204);
    const dev = sims.fleet.managedDeviceId(1);
    const before = sims.graph.runState(1)!;
    // syncDevice is an MDM check-in: the IME fetches no remediation policy (memdocs remediations.md).
    expect((await send('POST', `/beta/deviceManagement/managedDevices/${dev}/syncDevice`, undefined)).status).toBe(204);
    await until(() => sims.fleet.checkIns(1) === 1);
    expect(sims.fleet.keyId(1)).toBe(sims.ids.oldKeyId);
    expect(sims.graph.runState(1)).toEqual(before);
    // The on-demand remediation is a beta action with a required scriptPolicyId; 204 when accepted.
    const onDemand = (ver: string, body: unknown) =>
      send('POST', `/${ver}/deviceManagement/managedDevices/${dev}/initiateOnDemandProactiveRemediation`, body);
    expect((await onDemand('v1.0', { scriptPolicyId: sims.ids.remediationId })).status).toBe(400);
    expect((await onDemand('beta', {})).status).toBe(400);
    expect((await onDemand('beta', { scriptPolicyId: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect((await onDemand('beta', { scriptPolicyId: sims.ids.remediationId })).status).toBe(204);
    await until(() => sims.fleet.keyId(1) === keyId);
    const states = (await (await get(`${url}/deviceRunStates?$expand=managedDevice($select=id)`)).json()) as {
      value: Json[];
    };
    const mine = states.value.find((v) => (v['managedDevice'] as Json)['id'] === dev)!;
    // The detection found the old key (exit 1), so the remediation ran and the second detection passed.
    expect(mine).toMatchObject({ detectionState: 'fail', remediationState: 'success' });
    expect(JSON.parse(String(mine['preRemediationDetectionScriptOutput']))).toMatchObject({
      api_key: { key_id: sims.ids.oldKeyId },
    });
    expect(JSON.parse(String(mine['postRemediationDetectionScriptOutput']))).toMatchObject({
      api_key: { key_id: keyId, revoked: false },
    });
    expect(Date.parse(String(mine['lastStateUpdateDateTime']))).toBeGreaterThan(before.at);
    expect(sims.fleet.revokedKnown(1)).toEqual([sims.ids.oldKeyId]);
    expect(sims.fleet.keyId(0)).toBe(sims.ids.oldKeyId);
  });
});

describe('graph sim: $batch and throttling', () => {
  const sync = (id: string, n: number): Json => ({
    id: String(n),
    method: 'POST',
    url: `/deviceManagement/managedDevices/${id}/syncDevice`,
  });

  it('rejects more than 20 requests and duplicate ids', async () => {
    const { sims, send } = await start({ fleet: { size: 21 } });
    const ids = sims.fleet.endpoints().map((e) => e.managedDeviceId);
    expect((await send('POST', '/v1.0/$batch', { requests: ids.map(sync) })).status).toBe(400);
    expect(
      (await send('POST', '/v1.0/$batch', { requests: [sync(ids[0] ?? '', 1), sync(ids[1] ?? '', 1)] })).status,
    ).toBe(400);
    expect(sims.graph.writes()).toBe(0);
  });

  it('throttles each inner write on the sliding window with a per-item 429 and Retry-After', async () => {
    const { sims, send } = await start({ fleet: { size: 8 }, graph: { budget: { writes: 5, windowMs: 3_000 } } });
    const ids = sims.fleet.endpoints().map((e) => e.managedDeviceId);
    const r = await send('POST', '/v1.0/$batch', { requests: ids.map(sync) });
    expect(r.status).toBe(200);
    const { responses } = (await r.json()) as {
      responses: { id: string; status: number; headers: Record<string, string>; body?: Json }[];
    };
    expect(responses.filter((x) => x.status === 204)).toHaveLength(5);
    const limited = responses.filter((x) => x.status === 429);
    expect(limited).toHaveLength(3);
    for (const x of limited) {
      expect(Number(x.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
      expect(Number(x.headers['Retry-After'])).toBeLessThanOrEqual(3);
      expect(x.body).toMatchObject({
        error: { code: 'TooManyRequests', innerError: { 'request-id': expect.any(String) } },
      });
    }
    expect(sims.graph.throttled()).toBe(3);
    expect(sims.graph.writes()).toBe(5);
    const direct = await send('POST', `/v1.0/deviceManagement/managedDevices/${ids[7] ?? ''}/syncDevice`, undefined);
    expect(direct.status).toBe(429);
    expect(direct.headers.get('retry-after')).not.toBeNull();
  });

  it('can omit Retry-After, applies status faults to inner items, and classifies batches', async () => {
    const { sims, send } = await start({
      fleet: { size: 4 },
      graph: { budget: { writes: 1, windowMs: 60_000 }, retryAfterMissingRate: 1 },
    });
    const ids = sims.fleet.endpoints().map((e) => e.managedDeviceId);
    sims.faults.add({
      system: 'graph',
      method: 'POST',
      path: `/v1.0/deviceManagement/managedDevices/${ids[0] ?? ''}/syncDevice`,
      respond: { status: 503, body: '{"error":{"code":"ServiceUnavailable","message":"x"}}' },
    });
    sims.log.clear();
    const r = (await (await send('POST', '/v1.0/$batch', { requests: ids.slice(0, 3).map(sync) })).json()) as {
      responses: { id: string; status: number; headers: Record<string, string> }[];
    };
    const byId = new Map(r.responses.map((x) => [x.id, x]));
    expect(byId.get('0')?.status).toBe(503);
    expect(byId.get('1')?.status).toBe(204);
    expect(byId.get('2')?.status).toBe(429);
    expect(byId.get('2')?.headers['Retry-After']).toBeUndefined();
    await send('POST', '/v1.0/$batch', {
      requests: [{ id: '1', method: 'GET', url: `/deviceManagement/managedDevices/${ids[0] ?? ''}` }],
    });
    expect(sims.log.mutations()).toHaveLength(1);
  });
});
