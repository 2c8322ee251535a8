import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readDetectionScript,
  readRemediationScript,
  startSimulators,
  type FleetOptions,
  type SimOptions,
  type Simulators,
} from '../../sim/index.js';
import { graphToken, until } from '../sim/helpers.js';
import { expectNoLeaks, finishRotation, mintedKeys, readEvidence } from './evidence.js';
import {
  FAST_SIGNALS,
  intuneWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
  closeAfterAll,
} from './harness.js';

/**
 * Intune Windows through the bundled action, against a Graph simulator whose Windows devices
 * fetch the remediation only at reboot, sign-in, every 8 hours or on the on-demand action,
 * never on syncDevice; run the remediation script only after the detection script exits 1;
 * and keep 2,048 characters of output (memdocs intune/fundamentals/remediations.md).
 */
// The cases run concurrently, each on its own simulators (their validation windows overlap
// instead of adding up); every set is closed when the file is done.
const track = closeAfterAll();

async function start(fleet: FleetOptions, graph: SimOptions['graph'] = {}): Promise<Simulators> {
  const s = await startSimulators({ fleet: { mdm: 'intune', ...FAST_SIGNALS, ...fleet }, graph });
  track(s);
  return s;
}

const run = (s: Simulators, ws: Workspace): Promise<ActionRun> =>
  runAction({
    workspace: ws,
    inputs: simInputs(s, {
      mode: 'apply',
      'jamf-client-id': '',
      'jamf-client-secret': '',
      'azure-tenant-id': s.creds.azureTenantId,
      'azure-client-id': s.creds.azureClientId,
      'azure-client-secret': s.creds.azureClientSecret,
    }),
    env: simEnv(s),
  });

/** Validation long enough for the revocation phase, with a short timeout for the failing cases. */
const VALIDATION = (minHealthy: string, timeout = '10s'): string =>
  `validation:\n  window: 12s\n  minHealthy: ${minHealthy}\n  activeWithin: 7d\n  timeout: ${timeout}\n  pollInterval: 200ms`;

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}
/** The items of every `$batch` the simulator received at this version, per batch. */
function batches(s: Simulators, version: 'v1.0' | 'beta'): BatchItem[][] {
  return s.log
    .entries()
    .filter((e) => e.method === 'POST' && e.path === `/${version}/$batch`)
    .map((e) => (JSON.parse(e.bodyText!) as { requests: BatchItem[] }).requests);
}
const deviceOf = (url: string): string => url.split('/')[3] ?? '';

describe.concurrent('Intune Windows: the remediation is run on demand, detection first', () => {
  it('a mixed rotation completes because Windows devices get the on-demand remediation and macOS devices syncDevice', async () => {
    const s = await start({ size: 44, os: 'mixed', offline: 2 });
    const ws = intuneWorkspace(s, { macos: true, windows: true }, { validation: VALIDATION('95%') });
    const first = await run(s, ws);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.outputs['status']).toBe('in-progress');
    const keyId = mintedKeys(s)[0]!.id;

    // From the wire: one action per device, each platform its own, in $batches of at most 20.
    const win = s.fleet.indices({ inFleet: true, os: 'windows' }).map((i) => s.fleet.managedDeviceId(i));
    const mac = s.fleet.indices({ inFleet: true, os: 'macos' }).map((i) => s.fleet.managedDeviceId(i));
    const beta = batches(s, 'beta');
    const v1 = batches(s, 'v1.0').map((b) => b.filter((r) => r.method === 'POST'));
    expect(beta.every((b) => b.length <= 20) && v1.every((b) => b.length <= 20)).toBe(true);
    const onDemand = beta.flat();
    expect(
      onDemand.every(
        (r) =>
          r.method === 'POST' &&
          /^\/deviceManagement\/managedDevices\/[^/]+\/initiateOnDemandProactiveRemediation$/.test(r.url),
      ),
    ).toBe(true);
    expect(
      onDemand.every(
        (r) =>
          JSON.stringify(r.body) === JSON.stringify({ scriptPolicyId: s.ids.remediationId }) &&
          r.headers?.['content-type'] === 'application/json',
      ),
    ).toBe(true);
    expect(onDemand.map((r) => deviceOf(r.url)).sort()).toEqual([...win].sort());
    const syncs = v1.flat();
    expect(syncs.every((r) => r.url.endsWith('/syncDevice'))).toBe(true);
    expect(syncs.map((r) => deviceOf(r.url)).sort()).toEqual([...mac].sort());
    // Both are device writes on the one paced budget: nothing was throttled.
    expect(s.graph.throttled()).toBe(0);

    // Windows devices that were reachable ran the package after the refresh: detection exit 1, remediation installed the key.
    const online = s.fleet.indices({ inFleet: true, os: 'windows', behaviour: 'online' });
    for (const i of online)
      expect(s.graph.runState(i), `device ${i}`).toMatchObject({ detectionState: 'fail', remediationState: 'success' });
    expect(online.every((i) => s.fleet.keyId(i) === keyId)).toBe(true);
    const rec1 = readEvidence(s)!;
    expect(rec1.validation).toMatchObject({ total: 44, active: 44, healthy: 42, notCheckedIn: 2 });

    // The same devices reached by syncDevice alone would not have moved: an offline Windows device
    // that comes back and syncs checks in, but neither runs the remediation nor reports a run.
    const late = s.fleet.indices({ inFleet: true, behaviour: 'offline' })[0]!;
    s.fleet.setBehaviour(late, 'online');
    const before = s.graph.runState(late);
    const token = await graphToken(s);
    const post = (url: string, body?: unknown) =>
      fetch(`${s.urls.graph}${url}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const id = s.fleet.managedDeviceId(late);
    expect((await post(`/v1.0/deviceManagement/managedDevices/${id}/syncDevice`)).status).toBe(204);
    await until(() => s.fleet.checkIns(late) === 1);
    if (s.fleet.os(late) === 'windows') {
      expect(s.fleet.keyId(late)).toBe(s.ids.oldKeyId);
      expect(s.graph.runState(late)).toEqual(before);
      expect(
        (
          await post(`/beta/deviceManagement/managedDevices/${id}/initiateOnDemandProactiveRemediation`, {
            scriptPolicyId: s.ids.remediationId,
          })
        ).status,
      ).toBe(204);
    }
    await until(() => s.fleet.keyId(late) === keyId);

    const { second } = await finishRotation(s, rec1.validatedAt!, () => run(s, ws));
    expect(readEvidence(s)!.validation).toMatchObject({ total: 44, healthy: 43 });
    expectNoLeaks(s, [first, second]);
  });

  it('refused on-demand actions leave Windows on the old key: validation fails and the rotation rolls back (syncDevice is no substitute)', async () => {
    const s = await start({ size: 10, os: 'windows' });
    // The app lacks the permission for device actions: every on-demand item is refused.
    s.faults.add({
      system: 'graph',
      method: 'POST',
      path: /\/beta\/deviceManagement\/managedDevices\/[^/]+\/initiateOnDemandProactiveRemediation$/,
      times: Infinity,
      respond: {
        status: 403,
        body: JSON.stringify({
          error: { code: 'Forbidden', message: 'Application is not authorized to perform this operation.' },
        }),
      },
    });
    const ws = intuneWorkspace(s, { windows: true }, { validation: VALIDATION('80%', '3s') });
    const r = await run(s, ws);
    expect(r.code).toBe(1);
    expect(r.outputs['status']).toBe('rolled-back');
    expect(r.stdout).toMatch(
      /initiateOnDemandProactiveRemediation not accepted for 10 device\(s\): 10× 403 Forbidden; a 403 means the Entra app lacks the permission/,
    );
    for (let i = 0; i < 10; i++) {
      expect(s.graph.ime.runs(i)).toBe(0);
      expect(s.fleet.keyId(i)).toBe(s.ids.oldKeyId);
      expect(s.graph.syncs(s.fleet.managedDeviceId(i))).toBe(0);
    }
    expect(readEvidence(s)!.validation).toMatchObject({ healthy: 0, onOldKey: 10 });
    expect(mintedKeys(s)[0]!.active).toBe(false);
    expectNoLeaks(s, [r]);
  });

  it('a detection script that exits 0 on the old key: the remediation never runs, the action says why and rolls back', async () => {
    const s = await start({ size: 8, os: 'windows' });
    // The placeholders sit in a comment: the loader accepts it, but the script compares nothing.
    const printOnly =
      '# expects {{THOTH_API_KEY_ID}}, revoked {{THOTH_REVOKED_API_KEY_IDS}}\r\n$h = & "$env:ProgramFiles\\Thoth\\thoth.exe" health --json\r\nWrite-Output $h\r\nexit 0\r\n';
    const ws = intuneWorkspace(s, { windows: true }, { validation: VALIDATION('80%', '3s') }, { detection: printOnly });
    const r = await run(s, ws);
    expect(r.code).toBe(1);
    expect(r.outputs['status']).toBe('rolled-back');
    for (let i = 0; i < 8; i++) {
      // It ran after the refresh (twice: the rollback refreshes too), found "no issue", and skipped the remediation.
      expect(s.graph.runState(i)).toMatchObject({ detectionState: 'success', remediationState: 'skipped' });
      expect(s.fleet.keyId(i)).toBe(s.ids.oldKeyId);
    }
    expect(r.stdout).toMatch(
      /\d+ Windows device\(s\) ran the detection script after the refresh and it exited 0 while the device reports another key than the one delivered/,
    );
    const rec = readEvidence(s)!;
    expect(rec.validation).toMatchObject({ healthy: 0, onOldKey: 8, notCheckedIn: 0 });
    expect(rec.validation!.stragglers.every((x) => x.reason === 'still on old key')).toBe(true);
    expectNoLeaks(s, [r]);
  });

  it('detection output over 2,048 characters is cut by Intune, and the action does not count that device from it', async () => {
    // Drifted names: no Thoth endpoint joins, so every device is judged on what Intune reports.
    const s = await start({ size: 10, os: 'windows', drift: 10, offline: 1 });
    const verbose = s.fleet.indices({ inFleet: true, behaviour: 'online' }).slice(0, 2);
    // These devices print a long log after the health line: what Intune keeps still holds a
    // complete JSON object naming the new key, followed by a cut-off tail.
    for (const i of verbose) s.graph.ime.setExtraOutput(i, `\n${'diagnostic line\n'.repeat(200)}`);
    const ws = intuneWorkspace(s, { windows: true }, { validation: VALIDATION('70%') });
    const r = await run(s, ws);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs['status']).toBe('in-progress');
    const keyId = mintedKeys(s)[0]!.id;
    for (const i of verbose) {
      const post = s.graph.runState(i)!.post!;
      expect(post).toHaveLength(2048);
      expect(JSON.parse(post.slice(0, post.indexOf('\n'))).api_key.key_id).toBe(keyId);
      expect(s.fleet.keyId(i)).toBe(keyId); // installed: only the report is unusable
    }
    const rec = readEvidence(s)!;
    // 7 of the 9 active devices are counted; the two cut reports are not, nor is the offline device's report from before the refresh.
    expect(rec.validation).toMatchObject({ total: 10, active: 10, healthy: 7, notCheckedIn: 1 });
    const reasons = Object.fromEntries(rec.validation!.stragglers.map((x) => [x.name, x.reason]));
    for (const i of verbose) expect(reasons[s.fleet.mdmName(i)]).toBe('health output invalid');
    expect(r.stdout).toMatch(
      /\d+ Windows device\(s\) printed 2048 characters or more from the detection script; Intune keeps only the first 2048, so their health is not used/,
    );
    expectNoLeaks(s, [r]);
  });

  it('the example templates rotate a Windows fleet (first rotation from a hand-written script: current.keyId)', async () => {
    const s = await start({ size: 6, os: 'windows' });
    const examples = path.resolve(import.meta.dirname, '../../examples/.thoth/templates');
    const remediation = readFileSync(path.join(examples, 'thoth-key.ps1'), 'utf8');
    const detection = readFileSync(path.join(examples, 'thoth-detect.ps1'), 'utf8');
    const ws = intuneWorkspace(
      s,
      { windows: true },
      { validation: VALIDATION('95%'), currentKeyId: s.ids.oldKeyId },
      { remediation, detection },
    );
    const r = await run(s, ws);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs['status']).toBe('in-progress');
    const keyId = mintedKeys(s)[0]!.id;
    const deployed = s.graph.detectionVersions().at(-1)!;
    expect(readDetectionScript(deployed)).toEqual({ keyId, revoked: [] });
    expect(deployed).not.toContain(readRemediationScript(s.graph.scriptVersions().at(-1)!)!.apiKey);
    expect(s.fleet.keyCounts()).toEqual({ [keyId]: 6 });
    expectNoLeaks(s, [r]);
  });
});
