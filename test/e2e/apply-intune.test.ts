import { describe, expect, it } from 'vitest';
import {
  readMobileconfig,
  readRemediationScript,
  startSimulators,
  type FleetOptions,
  type SimOptions,
  type Simulators,
} from '../../sim/index.js';
import { readManagedSettings } from '../mdm-values.js';
import { expectNoLeaks, finishRotation, mintedKeys, readEvidence } from './evidence.js';
import {
  FAST_SIGNALS,
  intuneWorkspace,
  WINDOWS_DETECTION_TEMPLATE as DETECTION,
  WINDOWS_TEMPLATE as TEMPLATE,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
  closeAfterAll,
} from './harness.js';

const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};

// The cases run concurrently, each on its own simulators (their validation windows overlap
// instead of adding up); every set is closed when the file is done.
const track = closeAfterAll();

async function start(fleet: FleetOptions, graph: SimOptions['graph'] = {}): Promise<Simulators> {
  const s = await startSimulators({ fleet: { mdm: 'intune', ...FAST_SIGNALS, ...fleet }, graph });
  track(s);
  return s;
}

/** Azure credentials only: the Jamf client of simInputs must not be sent anywhere. */
function inputs(s: Simulators, mode: string): Record<string, string> {
  return simInputs(s, {
    mode,
    'jamf-client-id': '',
    'jamf-client-secret': '',
    'azure-tenant-id': s.creds.azureTenantId,
    'azure-client-id': s.creds.azureClientId,
    'azure-client-secret': s.creds.azureClientSecret,
  });
}
const run = (s: Simulators, ws: Workspace, mode = 'apply'): Promise<ActionRun> =>
  runAction({ workspace: ws, inputs: inputs(s, mode), env: simEnv(s) });

/**
 * Every fleet device in the group was refreshed `times` times, each by its platform's action:
 * macOS by syncDevice, Windows by the on-demand remediation (syncDevice would not make it fetch
 * the remediation); devices outside the group by neither.
 */
function expectRefreshed(s: Simulators, times = 1): void {
  for (let i = 0; i < s.fleet.total; i++) {
    const id = s.fleet.managedDeviceId(i);
    const n = s.fleet.inFleet(i) ? times : 0;
    const mac = s.fleet.os(i) === 'macos';
    expect([s.graph.syncs(id), s.graph.onDemandRemediations(id)], `device ${i}`).toEqual(mac ? [n, 0] : [0, n]);
  }
}

/** A validation window long enough that the "early" run surely starts inside it, even on a loaded machine. */
const VALIDATION =
  'validation:\n  window: 12s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms';

/** first apply → in-progress; early apply → nothing; after the window → completed; then nothing. */
async function fullRotation(s: Simulators, ws: Workspace): Promise<{ runs: ActionRun[]; keyId: string }> {
  const first = await run(s, ws);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  expect(first.outputs['status']).toBe('in-progress');
  const minted = mintedKeys(s);
  expect(minted).toHaveLength(1);
  expect(first.outputs['key-id']).toBe(minted[0]!.id);
  expect(first.stdout).toMatch(
    /graph: \d+ HTTP request\(s\) carrying \d+ \$batch item\(s\); \d+ write\(s\); 0 throttled \(429\)/,
  );
  expectRefreshed(s);
  expect(s.graph.throttled()).toBe(0);
  const rec1 = readEvidence(s)!;
  expect(rec1.state).toBe('awaiting-revocation');
  expect(s.thoth.keys().find((k) => k.id === s.ids.oldKeyId)!.active).toBe(true);

  const { early, second, third } = await finishRotation(s, rec1.validatedAt!, () => run(s, ws));
  return { runs: [first, early, second, third], keyId: minted[0]!.id };
}

describe.concurrent('apply through Intune (bundled action against the Graph simulator)', () => {
  it('macOS fleet: plan mutates nothing; rotation rewrites only the three settings, syncs the group, validates, revokes later', async () => {
    const s = await start({ size: 20, offline: 2, stuck: 1, inactive: 1 }, { devicesPageSize: 7 });
    const ws = intuneWorkspace(s, { macos: true }, { validation: VALIDATION });
    const before = s.graph.configVersions().at(-1)!;

    const plan = await run(s, ws, 'plan');
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.outputs['status']).toBe('planned');
    expect(plan.summary).toContain('20 device(s) in the group');
    expect(s.log.mutations()).toEqual([]);
    expect(new Set(s.log.entries().map((e) => e.system))).toEqual(new Set(['github', 'graph', 'login', 'thoth']));

    const { runs, keyId } = await fullRotation(s, ws);
    const rec = readEvidence(s)!;
    expect(rec.validation).toMatchObject({
      total: 20,
      inactive: 1,
      active: 19,
      healthy: 16,
      onOldKey: 3,
      notCheckedIn: 2,
    });
    expect(rec.events.map((e) => e.step)).toEqual(
      expect.arrayContaining(['mdm-snapshot', 'mdm-update', 'refresh', 'validate', 'revalidate', 'revoke-old-key']),
    );

    // Only the three managed settings changed; the profile's identity is kept (no ghost profile).
    const after = s.graph.configVersions().at(-1)!;
    const was = readManagedSettings(before, NAMES);
    const now = readManagedSettings(after, NAMES);
    expect(now.keyId).toBe(keyId);
    expect(now.identity).toEqual(was.identity);
    expect(after.replace(now.apiKey!, 'K').replace(now.keyId!, 'I')).toBe(
      before.replace(was.apiKey!, 'K').replace(was.keyId!, 'I'),
    );
    expect(s.graph.ghostProfiles).toBe(0);
    expect(s.graph.configVersions()).toHaveLength(2);
    expectNoLeaks(s, [plan, ...runs]);
  });

  it('Windows fleet: the template is rendered into the remediation script; health comes from deviceRunStates', async () => {
    const s = await start({ size: 20, os: 'windows', offline: 2, stuck: 1, inactive: 1 });
    const ws = intuneWorkspace(s, { windows: true }, { validation: VALIDATION });
    const { runs, keyId } = await fullRotation(s, ws);
    expect(readEvidence(s)!.validation).toMatchObject({ total: 20, inactive: 1, active: 19, healthy: 16, onOldKey: 3 });
    const script = s.graph.scriptVersions().at(-1)!;
    const delivered = readRemediationScript(script)!;
    expect(delivered.keyId).toBe(keyId);
    // Exactly the templates with their placeholders filled in; the detection script without the key.
    expect(script).toBe(
      TEMPLATE.replace('{{THOTH_API_KEY}}', delivered.apiKey)
        .replace('{{THOTH_API_KEY_ID}}', keyId)
        .replace('{{THOTH_REVOKED_API_KEY_IDS}}', '[]'),
    );
    const detection = s.graph.detectionVersions().at(-1)!;
    expect(detection).toBe(
      DETECTION.replace('{{THOTH_API_KEY_ID}}', keyId).replace('{{THOTH_REVOKED_API_KEY_IDS}}', '[]'),
    );
    expect(s.graph.detectionVersions().join('\n')).not.toContain(delivered.apiKey);
    // Devices that ran it: detection found the old key (exit 1), the remediation installed the new one.
    const ran = s.fleet.indices({ inFleet: true, behaviour: 'online' }).map((i) => s.graph.runState(i)!);
    expect(
      ran.every(
        (r) =>
          r.detectionState === 'fail' &&
          r.remediationState === 'success' &&
          JSON.parse(r.post!).api_key.key_id === keyId,
      ),
    ).toBe(true);
    expect(s.graph.configVersions()).toHaveLength(1); // the macOS configuration was never touched
    expectNoLeaks(s, runs);
  });

  it('mixed fleet behind nested groups and users: every device reached once, both documents on the new key', async () => {
    const s = await start(
      { size: 24, os: 'mixed', offline: 1 },
      { nestedGroups: true, userMembers: 4, membersPageSize: 5 },
    );
    // 95%: passes only at 23/24, once every online device checked in.
    const ws = intuneWorkspace(s, { macos: true, windows: true }, { validation: VALIDATION.replace('80%', '95%') });
    const first = await run(s, ws);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.outputs['status']).toBe('in-progress');
    expect(first.stdout).toMatch(/4 user member\(s\) with 4 managed device\(s\); 24 device\(s\) targeted/);
    expectRefreshed(s);
    expect(readEvidence(s)!.validation).toMatchObject({ total: 24, active: 24, healthy: 23, notCheckedIn: 1 });
    const keyId = first.outputs['key-id'];
    expect(readMobileconfig(s.graph.configVersions().at(-1)!)!.keyId).toBe(keyId);
    expect(readRemediationScript(s.graph.scriptVersions().at(-1)!)!.keyId).toBe(keyId);
    const members = s.log.entries().filter((e) => e.path.includes('/transitiveMembers/'));
    expect(members.every((e) => e.headers['consistencylevel'] === 'eventual')).toBe(true);
    expectNoLeaks(s, [first]);
  });

  it('rolls back when validation fails: both documents restored verbatim, new key revoked, job fails', async () => {
    const s = await start({ size: 10, os: 'mixed', stuck: 10 });
    const ws = intuneWorkspace(
      s,
      { macos: true, windows: true },
      { validation: 'validation:\n  window: 2s\n  minHealthy: 90%\n  timeout: 2s\n  pollInterval: 300ms' },
    );
    const config = s.graph.configHistory().at(-1)!.base64;
    const script = s.graph.scriptHistory().at(-1)!.base64;
    const detection = s.graph.detectionHistory().at(-1)!.base64;
    const r = await run(s, ws);
    expect(r.code).toBe(1);
    expect(r.outputs['status']).toBe('rolled-back');
    expect(mintedKeys(s)[0]!.active).toBe(false);
    expect(s.graph.configHistory().at(-1)!.base64).toBe(config);
    expect(s.graph.scriptHistory().at(-1)!.base64).toBe(script);
    expect(s.graph.detectionHistory().at(-1)!.base64).toBe(detection);
    expect(s.graph.configVersions()).toHaveLength(3);
    expect(readEvidence(s)!.state).toBe('rolled-back');
    // Rollback refreshes the group again, each device by its platform's action.
    expectRefreshed(s, 2);
    expectNoLeaks(s, [r]);
  });
  /**
   * The read-back GET after a document's PATCH fails for the rest of the run (a Graph outage):
   * the run stops with one document on the new key and the other on the old one, both keys
   * valid. The next run must finish the deployment, not stop on "configurations disagree".
   */
  for (const [doc, path, writtenFirst] of [
    ['macOS configuration', /^\/v1\.0\/deviceManagement\/deviceConfigurations\/[^/]+$/, 'mac'],
    ['Windows remediation', /^\/beta\/deviceManagement\/deviceHealthScripts\/[^/]+$/, 'windows'],
  ] as const) {
    it(`a 5xx outage on the ${doc} read-back leaves the fleet split; the next run finishes the deployment`, async () => {
      const s = await start({ size: 12, os: 'mixed' });
      const ws = intuneWorkspace(s, { macos: true, windows: true }, { validation: VALIDATION });
      // The first GET is the preflight's snapshot read, the second the read-back after the PATCH.
      s.faults.add({
        system: 'graph',
        method: 'GET',
        path,
        nth: 2,
        times: Infinity,
        respond: { status: 503, headers: { 'content-type': 'text/html' }, body: '<html>Service Unavailable</html>' },
      });
      const first = await run(s, ws);
      s.faults.clear();
      expect(first.code).toBe(1);
      expect(first.stdout).toContain('MDM update failed and its outcome is unknown');
      const keyId = mintedKeys(s)[0]!.id;
      const onMac = () => readMobileconfig(s.graph.configVersions().at(-1)!)!.keyId;
      const onWindows = () => readRemediationScript(s.graph.scriptVersions().at(-1)!)!.keyId;
      // The read-back failed after the PATCH reached Graph: one document on each key.
      const patched = s.log.entries().filter((e) => e.system === 'graph' && e.method === 'PATCH');
      const firstFault = s.log.entries().find((e) => e.system === 'graph' && e.status === 503)!;
      expect(patched.some((e) => e.seq < firstFault.seq)).toBe(true);
      expect([onMac(), onWindows()]).toEqual(
        writtenFirst === 'mac' ? [keyId, s.ids.oldKeyId] : [s.ids.oldKeyId, keyId],
      );
      expect(readEvidence(s)!.state).toBe('authorized');
      expect(mintedKeys(s)[0]!.active).toBe(true);
      expect(s.thoth.keys().find((k) => k.id === s.ids.oldKeyId)!.active).toBe(true);

      const creates = s.log
        .entries()
        .filter((e) => e.system === 'thoth' && e.method === 'POST' && /\/api-keys$/.test(e.path));
      const second = await run(s, ws);
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.outputs['status']).toBe('in-progress');
      expect(second.stdout).not.toContain('disagree');
      expect([onMac(), onWindows()]).toEqual([keyId, keyId]);
      // No key created again, nothing revoked: the fleet finished on the key the first run minted.
      expect(
        s.log.entries().filter((e) => e.system === 'thoth' && e.method === 'POST' && /\/api-keys$/.test(e.path)),
      ).toHaveLength(creates.length);
      expect(mintedKeys(s)).toHaveLength(1);
      expect(s.log.entries().filter((e) => e.system === 'thoth' && e.method === 'DELETE')).toEqual([]);
      const rec = readEvidence(s)!;
      expect(rec.state).toBe('awaiting-revocation');
      const details = rec.events.map((e) => `${e.step} ${e.outcome}: ${e.detail}`).join('\n');
      const [done, todo] =
        writtenFirst === 'mac' ? ['intune-macos', 'intune-windows'] : ['intune-windows', 'intune-macos'];
      expect(details).toMatch(
        new RegExp(
          `reconcile info: run .* took over the rotation interrupted at authorized: ${done} \\S+ already deliver new key ${keyId}, ${todo} \\S+ still deliver old key ${s.ids.oldKeyId}; finishing the deployment`,
        ),
      );
      expect(details).toMatch(
        new RegExp(`mdm-update ok: ${todo} \\S+ now deliver key ${keyId} \\(finishing the interrupted deployment`),
      );
      const { second: last } = await finishRotation(s, rec.validatedAt!, () => run(s, ws));
      expect(readEvidence(s)!.state).toBe('completed');
      expectNoLeaks(s, [first, second, last]);
    });
  }
});
