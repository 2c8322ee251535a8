import { afterEach, describe, expect, it, vi } from 'vitest';
import { until } from '../sim/helpers.js';
import type { Narrowed } from '../../src/mdm/provider.js';

// registerSecret prints ::add-mask:: lines; keep the test output readable.
vi.mock('../../src/secrets.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/secrets.js')>()),
  registerSecret: () => undefined,
}));

const { readDetectionScript, readMobileconfig, readRemediationScript, startSimulators } = await import(
  '../../sim/index.js'
);
const { createGraphClient } = await import('../../src/clients/graph.js');
const { WritePacer } = await import('../../src/http/pacer.js');
const { IntuneProvider } = await import('../../src/mdm/intune-provider.js');
const { SecretValue } = await import('../../src/secret-value.js');
type Simulators = Awaited<ReturnType<typeof startSimulators>>;
type SimOptions = NonNullable<Parameters<typeof startSimulators>[0]>;

const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
const { WINDOWS_TEMPLATE: TEMPLATE, WINDOWS_DETECTION_TEMPLATE: DETECTION } = await import('../../sim/runner.js');

let sims: Simulators | undefined;
afterEach(async () => {
  await sims?.close();
  sims = undefined;
});

interface Setup {
  budget?: { writes: number; windowMs: number };
  template?: string;
  detection?: string;
  currentKeyId?: string;
  macos?: boolean;
  windows?: boolean;
}

async function setup(o: SimOptions, s: Setup = {}) {
  sims = await startSimulators({ ...o, fleet: { mdm: 'intune', checkInDelayMs: [1, 5], ...o.fleet } });
  const warnings: string[] = [];
  const infos: string[] = [];
  const pacer = new WritePacer(s.budget ?? { writes: 200, windowMs: 20_000 });
  const configPacer = new WritePacer({ writes: 100, windowMs: 20_000 });
  const api = createGraphClient({
    graphUrl: sims.urls.graph,
    loginUrl: sims.urls.login,
    tenantId: sims.creds.azureTenantId,
    clientId: sims.creds.azureClientId,
    clientSecret: sims.creds.azureClientSecret,
    pacer,
    configPacer,
    batch: { backoff: { attempts: 8, baseDelayMs: 50, maxDelayMs: 400, maxRetryAfterMs: 10_000 } },
  });
  const target = {
    graphUrl: sims.urls.graph,
    loginUrl: sims.urls.login,
    groupId: sims.ids.graphGroupId,
    ...(s.macos !== false ? { macos: { configurationId: sims.ids.macosConfigurationId } } : {}),
    ...(s.windows
      ? {
          windows: {
            remediationId: sims.ids.remediationId,
            template: '.thoth/templates/thoth-key.ps1',
            templatePath: '/unused',
            detectionTemplate: '.thoth/templates/thoth-detect.ps1',
            detectionTemplatePath: '/unused',
          },
        }
      : {}),
  };
  const provider = new IntuneProvider(api, target, NAMES, {
    listPageSize: o.graph?.devicesPageSize ?? 1000,
    ...(s.windows ? { template: s.template ?? TEMPLATE, detectionTemplate: s.detection ?? DETECTION } : {}),
    ...(s.currentKeyId ? { currentKeyId: s.currentKeyId } : {}),
    log: { info: (m) => infos.push(m), warning: (m) => warnings.push(m) },
  });
  return { sims, api, provider, warnings, infos, pacer, configPacer };
}

const groupManagedIds = (s: Simulators): string[] =>
  s.graph
    .groupMembers()
    .filter((i) => s.fleet.inFleet(i))
    .map((i) => s.fleet.managedDeviceId(i))
    .sort();

describe('Graph client and Intune provider against the simulator', () => {
  it("members: transitive devices of nested groups plus users' devices, joined to managed devices, all pages, extras excluded", async () => {
    const { sims, provider, infos } = await setup(
      { fleet: { size: 1_100, os: 'mixed' }, graph: { nestedGroups: true, userMembers: 7, devicesPageSize: 250 } },
      { windows: true },
    );
    const members = await provider.members();
    expect(members.map((m) => m.mdmId).sort()).toEqual(groupManagedIds(sims));
    expect(new Set(members.map((m) => m.mdmId)).size).toBe(1_100);
    const lists = sims.log.entries().filter((e) => e.path.includes('/transitiveMembers/'));
    expect(lists.length).toBeGreaterThanOrEqual(3); // devices need 2 pages of 999, users 1
    for (const e of lists) expect(e.headers['consistencylevel']).toBe('eventual');
    expect(sims.log.entries().filter((e) => e.path === '/v1.0/deviceManagement/managedDevices').length).toBe(
      Math.ceil(1_210 / 250),
    );
    expect(infos.join('\n')).toMatch(/7 user member\(s\) with 7 managed device\(s\); 1100 device\(s\) targeted/);
    // Windows devices carry the remediation's health; macOS ones have none in Intune.
    const win = members.find((m) => m.name.startsWith('win-'))!;
    expect(win.health).toMatchObject({ status: 'ok', keyId: sims.ids.oldKeyId });
    expect(members.find((m) => m.name.startsWith('mac-'))!.health).toBeUndefined();
  });

  it('only the platforms the intent configures are targeted', async () => {
    const { provider, infos } = await setup({ fleet: { size: 10, os: 'mixed' } });
    expect((await provider.members()).every((m) => m.name.startsWith('mac-'))).toBe(true);
    expect(infos.join('\n')).toMatch(/5 on a platform this intent does not configure/);
  });

  it('refuses an @odata.nextLink to another host (it would carry the token)', async () => {
    const { sims, provider } = await setup({ fleet: { size: 5 } });
    sims.faults.add({
      system: 'graph',
      method: 'GET',
      path: '/v1.0/deviceManagement/managedDevices',
      respond: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          value: [],
          '@odata.nextLink': 'https://graph.evil.example/v1.0/deviceManagement/managedDevices?$skiptoken=x',
        }),
      },
    });
    await expect(provider.members()).rejects.toThrow(/refusing to send the token there/);
  });

  it('a Graph error body becomes the HttpError code and detail', async () => {
    const { sims, provider } = await setup({ fleet: { size: 5 } });
    sims.faults.add({
      system: 'graph',
      method: 'GET',
      path: /deviceConfigurations/,
      respond: {
        status: 403,
        body: JSON.stringify({
          error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' },
        }),
      },
    });
    await expect(provider.readConfig()).rejects.toThrow(
      /graph: HTTP 403 Authorization_RequestDenied on GET \/v1.0\/deviceManagement\/deviceConfigurations\/[^:]+: Insufficient privileges/,
    );
  });

  it('a response of the wrong shape names the field, never its value', async () => {
    const { sims, provider } = await setup({ fleet: { size: 5 } });
    sims.faults.add({
      system: 'graph',
      method: 'GET',
      path: /deviceConfigurations/,
      respond: { status: 200, body: JSON.stringify({ payload: 12345678, payloadName: 'secret-ish' }) },
    });
    const err = await provider.readConfig().catch((e: Error) => e);
    expect(String(err)).toMatch(/unexpected response to GET deviceConfigurations: missing or mistyped payload/);
    expect(String(err)).not.toMatch(/12345678|secret-ish/);
  });

  it('writes macOS and Windows, reads back, and restores the snapshot byte for byte', async () => {
    const { sims, provider, pacer, configPacer } = await setup({ fleet: { size: 6, os: 'mixed' } }, { windows: true });
    const snap = await provider.readConfig();
    expect(snap.keyId?.is(sims.ids.oldKeyId)).toBe(true);
    expect(snap.apiKey?.reveal()).toBeTruthy();
    await provider.writeConfig(snap, {
      apiKey: new SecretValue('thoth_new_ABC123'),
      keyId: 'key_new1',
      revokedKeyIds: ['key_gone'],
    });
    // Intune budgets device configuration apart from devices (reference §11.2): one slot each.
    expect([configPacer.used(), pacer.used()]).toEqual([1, 1]);
    expect(readMobileconfig(sims.graph.configVersions().at(-1)!)).toEqual({
      apiKey: 'thoth_new_ABC123',
      keyId: 'key_new1',
      revoked: ['key_gone'],
    });
    expect(readRemediationScript(sims.graph.scriptVersions().at(-1)!)).toEqual({
      apiKey: 'thoth_new_ABC123',
      keyId: 'key_new1',
      revoked: ['key_gone'],
    });
    // Both scripts in the one PATCH; the detection script with the ids only.
    expect(readDetectionScript(sims.graph.detectionVersions().at(-1)!)).toEqual({
      keyId: 'key_new1',
      revoked: ['key_gone'],
    });
    expect(sims.graph.detectionVersions().at(-1)).not.toContain('thoth_new_ABC123');
    const scriptPatch = sims.log
      .entries()
      .filter((e) => e.method === 'PATCH' && e.path.includes('deviceHealthScripts'));
    expect(scriptPatch).toHaveLength(1);
    expect(Object.keys(JSON.parse(scriptPatch[0]!.bodyText!)).sort()).toEqual([
      '@odata.type',
      'detectionScriptContent',
      'remediationScriptContent',
    ]);
    expect(sims.graph.ghostProfiles).toBe(0);
    const patch = sims.log.entries().find((e) => e.method === 'PATCH' && e.path.includes('deviceConfigurations'))!;
    expect(Object.keys(JSON.parse(patch.bodyText!)).sort()).toEqual([
      '@odata.type',
      'payload',
      'payloadFileName',
      'payloadName',
    ]);
    await provider.restoreConfig(snap);
    expect(sims.graph.configHistory().at(-1)!.base64).toBe(snap.items[0]!.raw);
    expect(sims.graph.scriptHistory().at(-1)!.base64).toBe(snap.items[1]!.raw);
    expect(sims.graph.detectionHistory().at(-1)!.base64).toBe(snap.items[1]!.detectionRaw);
    expect(sims.graph.detectionHistory()).toHaveLength(3);
    // A sealed snapshot read again in a later run gives the same values.
    expect(provider.snapshotFrom(snap.items).keyId?.is(sims.ids.oldKeyId)).toBe(true);
  });

  it('a script not rendered from the template: key id from current.keyId, with a warning', async () => {
    const { sims, provider, warnings } = await setup(
      { fleet: { size: 4, os: 'windows' } },
      { macos: false, windows: true, template: `# v2\r\n${TEMPLATE}`, currentKeyId: 'key_declared' },
    );
    const snap = await provider.readConfig();
    expect(snap.keyId?.is('key_declared')).toBe(true);
    expect(snap.apiKey).toBeUndefined();
    expect(warnings.join('\n')).toMatch(
      /was not rendered from .*taking its key id from current.keyId \(key_declared\)/,
    );
    await provider.writeConfig(snap, {
      apiKey: new SecretValue('thoth_new_ABC123'),
      keyId: 'key_new1',
      revokedKeyIds: [],
    });
    expect(sims.graph.scriptVersions().at(-1)!.startsWith('# v2')).toBe(true);
  });

  it('if the second document cannot be written, the first is put back: macOS and Windows never disagree', async () => {
    const { sims, provider } = await setup({ fleet: { size: 4, os: 'mixed' } }, { windows: true });
    const snap = await provider.readConfig();
    sims.faults.add({
      system: 'graph',
      method: 'PATCH',
      path: /deviceHealthScripts/,
      respond: { status: 400, body: JSON.stringify({ error: { code: 'BadRequest', message: 'nope' } }) },
    });
    await expect(
      provider.writeConfig(snap, { apiKey: new SecretValue('thoth_new_ABC123'), keyId: 'key_new1', revokedKeyIds: [] }),
    ).rejects.toThrow(/HTTP 400 BadRequest/);
    expect(sims.graph.configHistory().at(-1)!.base64).toBe(snap.items[0]!.raw);
    expect((await provider.readConfig()).keyId?.is(sims.ids.oldKeyId)).toBe(true);
  });

  it('a snapshot sealed before detection scripts were managed restores the remediation script and leaves the detection script', async () => {
    const { sims, provider } = await setup({ fleet: { size: 2, os: 'windows' } }, { macos: false, windows: true });
    const snap = await provider.readConfig();
    const legacy = provider.snapshotFrom(snap.items.map(({ detectionRaw: _d, ...rest }) => rest));
    await provider.writeConfig(snap, {
      apiKey: new SecretValue('thoth_new_ABC123'),
      keyId: 'key_new1',
      revokedKeyIds: [],
    });
    await provider.restoreConfig(legacy);
    expect(sims.graph.scriptHistory().at(-1)!.base64).toBe(snap.items[0]!.raw);
    expect(readDetectionScript(sims.graph.detectionVersions().at(-1)!)!.keyId).toBe('key_new1');
  });

  it('refresh of a mixed group: Windows devices get the on-demand remediation in beta $batches, macOS devices syncDevice, all paced on one budget', async () => {
    const budget = { writes: 20, windowMs: 400 };
    const { sims, provider, api, pacer } = await setup(
      { fleet: { size: 50, os: 'mixed' }, graph: { budget } },
      { budget, windows: true },
    );
    const members = await provider.members();
    sims.log.clear();
    expect(await provider.refresh(members)).toEqual([]);
    expect(sims.graph.throttled()).toBe(0);
    const items = (version: string) =>
      sims.log
        .entries()
        .filter((e) => e.path === `/${version}/$batch`)
        .map(
          (e) =>
            (JSON.parse(e.bodyText!) as { requests: { url: string; body?: { scriptPolicyId?: string } }[] }).requests,
        );
    const beta = items('beta');
    const v1 = items('v1.0');
    expect([...beta, ...v1].every((b) => b.length <= 20)).toBe(true);
    const win = members
      .filter((m) => m.name.startsWith('win-'))
      .map((m) => m.refreshId)
      .sort();
    const mac = members
      .filter((m) => m.name.startsWith('mac-'))
      .map((m) => m.refreshId)
      .sort();
    expect(
      beta
        .flat()
        .map((r) => r.url.split('/')[3])
        .sort(),
    ).toEqual(win);
    expect(
      beta
        .flat()
        .every(
          (r) =>
            r.url.endsWith('/initiateOnDemandProactiveRemediation') &&
            r.body?.scriptPolicyId === sims.ids.remediationId,
        ),
    ).toBe(true);
    expect(
      v1
        .flat()
        .map((r) => r.url.split('/')[3])
        .sort(),
    ).toEqual(mac);
    expect(v1.flat().every((r) => r.url.endsWith('/syncDevice'))).toBe(true);
    // 50 device writes on a budget of 20 per 400 ms: both actions took slots of the same pacer.
    expect(api.stats()).toMatchObject({ writes: 50, throttled: 0 });
    expect(sims.graph.writes()).toBe(50);
    expect(pacer.used()).toBeGreaterThan(0);
  });

  it("observe: a Windows device's health is its run state after the refresh; an output Intune cut is not used", async () => {
    const { sims, provider } = await setup(
      { fleet: { size: 4, os: 'windows', checkInDelayMs: [1, 5] } },
      { macos: false, windows: true },
    );
    const snap = await provider.readConfig();
    const members = await provider.members();
    // Before anything runs: the report of the last run, dated before now, with the old key.
    expect(members[0]!.health?.keyId).toBe(sims.ids.oldKeyId);
    expect(members[0]!.healthAt!).toBeLessThan(Date.now());
    const { keyId, apiKey } = sims.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: sims.ids.fleetId,
      permissions: ['read'],
    });
    await provider.writeConfig(snap, { apiKey: new SecretValue(apiKey), keyId, revokedKeyIds: [] });
    sims.graph.ime.setExtraOutput(1, 'x'.repeat(3_000));
    const refreshedAt = Date.now();
    await provider.refresh(members);
    await until(() => [0, 1, 2, 3].every((i) => sims!.graph.ime.runs(i) === 1));
    const obs = await provider.observe(members);
    const byName = new Map(obs.map((o) => [o.name, o]));
    for (const i of [0, 2, 3]) {
      const o = byName.get(sims.fleet.mdmName(i))!;
      expect(o.health).toMatchObject({ status: 'ok', keyId });
      expect(o.healthAt!).toBeGreaterThanOrEqual(refreshedAt);
      // The run is a report to Intune: the device was in contact after the refresh, though it never synced.
      expect(o.lastContact!).toBeGreaterThanOrEqual(refreshedAt);
    }
    expect(byName.get(sims.fleet.mdmName(1))!.health).toEqual({ status: 'invalid' });
    expect(sims.graph.runState(1)!.post).toHaveLength(2048);
  });

  it('refresh: paced $batch syncs stay under the budget (no 429) and reach every device', async () => {
    const budget = { writes: 20, windowMs: 400 };
    const { sims, provider, api } = await setup({ fleet: { size: 70 }, graph: { budget } }, { budget });
    const members = await provider.members();
    const t0 = Date.now();
    expect(await provider.refresh(members)).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 400);
    expect(sims.graph.throttled()).toBe(0);
    expect(sims.graph.writes()).toBe(70);
    expect(members.every((m) => sims!.graph.syncs(m.refreshId) === 1)).toBe(true);
    expect(api.stats()).toMatchObject({ writes: 70, throttled: 0 });
  });

  it('refresh: inner 429s (budget shared with someone else) are retried alone; 404 = device gone, reported', async () => {
    const { sims, provider, api, warnings } = await setup({
      fleet: { size: 30 },
      graph: { budget: { writes: 10, windowMs: 300 }, retryAfterMissingRate: 1 },
    });
    const members = await provider.members();
    const gone = members[3]!.refreshId;
    sims.faults.add({
      system: 'graph',
      method: 'POST',
      path: `/v1.0/deviceManagement/managedDevices/${gone}/syncDevice`,
      respond: { status: 404, body: JSON.stringify({ error: { code: 'ResourceNotFound', message: 'gone' } }) },
    });
    expect(await provider.refresh(members)).toEqual([gone]);
    expect(sims.graph.throttled()).toBeGreaterThan(0);
    expect(api.stats().throttled).toBe(sims.graph.throttled());
    expect(members.filter((m) => m.refreshId !== gone).every((m) => sims!.graph.syncs(m.refreshId) === 1)).toBe(true);
    expect(warnings.join('\n')).toMatch(/1× 404 device gone/);
  });

  it('observe: by id in $batches when that takes fewer requests than listing the tenant; a token that expired is re-minted', async () => {
    const { sims, provider } = await setup({ fleet: { size: 30 }, graph: { tokenTtlSeconds: 1, devicesPageSize: 10 } });
    const members = await provider.members(); // 33 managed devices: a listing is 4 pages
    await new Promise((r) => setTimeout(r, 1_100));
    const count = (path: string): number => sims.log.entries().filter((e) => e.path === path).length;
    sims.log.clear();
    const obs = await provider.observe(members.slice(0, 25)); // 2 batches < 4 pages
    expect(obs.map((o) => o.mdmId).sort()).toEqual(
      members
        .slice(0, 25)
        .map((m) => m.mdmId)
        .sort(),
    );
    expect([count('/v1.0/$batch'), count('/v1.0/deviceManagement/managedDevices')]).toEqual([2, 0]);
    // The token minted for members() had expired: exactly one new token, and no request was refused for it.
    expect(
      sims.log
        .entries()
        .filter((e) => e.path.endsWith('/oauth2/v2.0/token'))
        .map((e) => e.method),
    ).toEqual(['POST']);
    expect(sims.log.entries().filter((e) => e.status === 401)).toEqual([]);
  });

  it('observe: a listing when that takes fewer requests (Graph pages ~1000 devices)', async () => {
    const { sims, provider } = await setup({ fleet: { size: 30 } });
    const members = await provider.members();
    const count = (path: string): number => sims.log.entries().filter((e) => e.path === path).length;
    sims.log.clear();
    expect(await provider.observe(members.slice(0, 21))).toHaveLength(21); // 2 batches > 1 page
    expect([count('/v1.0/$batch'), count('/v1.0/deviceManagement/managedDevices')]).toEqual([0, 1]);
    sims.log.clear();
    expect(await provider.observe(members.slice(0, 20))).toHaveLength(20); // 1 batch = 1 page: by id
    expect([count('/v1.0/$batch'), count('/v1.0/deviceManagement/managedDevices')]).toEqual([1, 0]);
  });
  it('observe with a narrowed set: waits for it when it decides the reads', async () => {
    const { sims, api, provider } = await setup({ fleet: { size: 30 }, graph: { devicesPageSize: 10 } });
    const members = await provider.members(); // 33 managed devices: a listing is 4 pages
    const count = (path: string): number => sims.log.entries().filter((e) => e.path === path).length;
    const byId = vi.spyOn(api, 'managedDevicesById');
    const listing = vi.spyOn(api, 'managedDevices');
    sims.log.clear();
    // 30 devices would be 2 batches < 4 pages: nothing is asked until the narrowed set is known.
    let release!: (d: Narrowed) => void;
    const call = provider.observe(members, new Promise((r) => (release = r)));
    // Everything observe could do before it awaits the narrowed set has run after one macrotask
    // turn (no timer: a client-side spy, not the server's log, says whether a read was asked).
    await new Promise((r) => setImmediate(r));
    expect([byId.mock.calls.length, listing.mock.calls.length]).toEqual([0, 0]);
    release({ devices: members.slice(0, 5), checkedIn: new Set() });
    expect((await call).map((o) => o.mdmId).sort()).toEqual(
      members
        .slice(0, 5)
        .map((m) => m.mdmId)
        .sort(),
    );
    expect([count('/v1.0/$batch'), count('/v1.0/deviceManagement/managedDevices')]).toEqual([1, 0]);
  });

  it('observe with a narrowed set: a listing the whole set calls for starts at once, beside the control plane read', async () => {
    const big = await setup({ fleet: { size: 30 } }); // one listing page holds the tenant
    const all = await big.provider.members();
    big.sims.log.clear();
    // 30 devices: 2 batches > 1 page, so the listing starts before the narrowed set is known.
    let open!: (d: Narrowed) => void;
    const early = big.provider.observe(all, new Promise((r) => (open = r)));
    // The listing reaches the server while the narrowed set is still unknown (an event wait, not a sleep).
    await vi.waitFor(
      () => expect(big.sims.log.entries().map((e) => e.path)).toEqual(['/v1.0/deviceManagement/managedDevices']),
      { timeout: 10_000, interval: 10 },
    );
    open({ devices: all.slice(0, 3), checkedIn: new Set() });
    expect(await early).toHaveLength(3);
    expect(big.sims.log.entries()).toHaveLength(1);
  });
});
