import { describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { readManagedSettings } from '../mdm-values.js';
import { expectNoLeaks, finishRotation, mintedKeys, readEvidence } from './evidence.js';
import {
  FAST_SIGNALS,
  jamfIntent,
  makeWorkspace,
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

// The cases run concurrently, each on its own simulators (the 12 s validation window of the
// first overlaps the others instead of adding to them); every set is closed when the file is done.
const track = closeAfterAll();

async function apply(
  s: Simulators,
  ws: Workspace,
  extra: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<ActionRun> {
  return runAction({ workspace: ws, inputs: simInputs(s, { mode: 'apply', ...extra }), env: simEnv(s, env) });
}

describe.concurrent('apply through Jamf (bundled action against the simulators)', () => {
  it('rotates end to end: create, deploy only the three settings, refresh the group, validate, revoke later, then nothing', async () => {
    const sims = track(
      await startSimulators({ fleet: { ...FAST_SIGNALS, size: 20, offline: 2, stuck: 1, inactive: 1 } }),
    );
    const ws = makeWorkspace();
    // A validation window long enough that the "early" run below surely falls inside it, even on a loaded machine.
    ws.write(
      '.thoth/rotations/corpsec.yaml',
      jamfIntent(sims, {
        validation:
          'validation:\n  window: 12s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms',
      }),
    );
    const before = sims.jamf.profileVersions().at(-1)!;

    const first = await apply(sims, ws);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.outputs['status']).toBe('in-progress');
    const minted = mintedKeys(sims);
    expect(minted).toHaveLength(1);
    const key = minted[0]!;
    expect(key.scope).toBe('fleet');
    expect(key.target).toBe(sims.ids.fleetId);
    expect([...key.permissions].sort()).toEqual(['execute', 'read']);
    expect(first.outputs['key-id']).toBe(key.id);

    // Only the three managed settings changed; identity preserved; no ghost profile.
    const after = sims.jamf.profileVersions().at(-1)!;
    const was = readManagedSettings(before, NAMES);
    const now = readManagedSettings(after, NAMES);
    expect(now.keyId).toBe(key.id);
    expect(now.identity).toEqual(was.identity);
    expect(after.replace(now.apiKey!, 'K').replace(now.keyId!, 'I')).toBe(
      before.replace(was.apiKey!, 'K').replace(was.keyId!, 'I'),
    );
    expect(sims.jamf.ghostProfiles).toBe(0);

    // Refresh went to exactly the group's management ids.
    const pushes = sims.log.entries().filter((e) => e.path === '/api/v2/mdm/blank-push');
    const pushed = pushes.flatMap((e) => JSON.parse(e.bodyText!).clientManagementIds as string[]).sort();
    expect(pushed).toEqual(
      sims.fleet
        .endpoints()
        .map((e: { managementId: string }) => e.managementId)
        .sort(),
    );
    expect(sims.log.maxConcurrent('jamf')).toBeLessThanOrEqual(5);

    const rec1 = readEvidence(sims)!;
    expect(rec1.state).toBe('awaiting-revocation');
    expect(rec1.validation).toMatchObject({ total: 20, inactive: 1, active: 19, healthy: 16, onOldKey: 3 });
    expect(rec1.newKey?.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(sims.thoth.keys().find((k) => k.id === sims!.ids.oldKeyId)!.active).toBe(true);

    // Early run: nothing mutated; after the window: old key revoked; then nothing at all.
    const s = sims;
    const { early, second, third } = await finishRotation(s, rec1.validatedAt!, () => apply(s, ws));
    // The third run committed nothing, so the record is the second run's.
    const rec2 = readEvidence(sims)!;
    expect(rec2.state).toBe('completed');
    expect(rec2.events.map((e) => e.step)).toEqual(
      expect.arrayContaining([
        'claim',
        'create-key',
        'authorize',
        'mdm-snapshot',
        'mdm-update',
        'refresh',
        'validate',
        'revalidate',
        'revoke-old-key',
        'confirm-revocation',
      ]),
    );
    expectNoLeaks(sims, [first, early, second, third]);
  });

  it('rolls back when validation fails: old configuration restored, new key revoked, job fails', async () => {
    const sims = track(await startSimulators({ fleet: { size: 10, stuck: 10 } }));
    const ws = makeWorkspace();
    ws.write(
      '.thoth/rotations/corpsec.yaml',
      jamfIntent(sims, {
        validation: 'validation:\n  window: 2s\n  minHealthy: 90%\n  timeout: 2s\n  pollInterval: 300ms',
      }),
    );
    const before = sims.jamf.profileVersions().at(-1)!;
    const run = await apply(sims, ws);
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('rolled-back');
    const key = mintedKeys(sims)[0]!;
    expect(key.active).toBe(false);
    expect(readManagedSettings(sims.jamf.profileVersions().at(-1)!, NAMES).keyId).toBe(sims.ids.oldKeyId);
    expect(sims.jamf.profileVersions().at(-1)).toBe(before);
    // Restored first, then the new key revoked: the group always held a key that worked.
    const profilePuts = sims.log
      .entries()
      .map(
        (e) => e.system === 'jamf' && e.method === 'PUT' && e.path.startsWith('/JSSResource/osxconfigurationprofiles/'),
      );
    const newKeyDelete = sims.log
      .entries()
      .findIndex((e) => e.system === 'thoth' && e.method === 'DELETE' && e.path.endsWith(`/api-keys/${key.id}`));
    expect(newKeyDelete).toBeGreaterThan(profilePuts.lastIndexOf(true));
    expect(readEvidence(sims)!.state).toBe('rolled-back');
    expectNoLeaks(sims, [run]);
  });

  it('holds both keys when validation fails with onValidationFailure: hold', async () => {
    const sims = track(await startSimulators({ fleet: { size: 10, stuck: 10 } }));
    const ws = makeWorkspace();
    ws.write(
      '.thoth/rotations/corpsec.yaml',
      jamfIntent(sims, {
        rollback: 'hold',
        validation: 'validation:\n  window: 2s\n  minHealthy: 90%\n  timeout: 1s\n  pollInterval: 300ms',
      }),
    );
    const run = await apply(sims, ws);
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(mintedKeys(sims)[0]!.active).toBe(true);
    expect(sims.thoth.keys().find((k) => k.id === sims!.ids.oldKeyId)!.active).toBe(true);
    expect(readEvidence(sims)!.state).toBe('refreshed');
    // Holding is not owning: the lease is released so the next apply validates again at once.
    expect(readEvidence(sims)!.lease).toBeUndefined();
  });

  it('a failing profile PUT leaves the old key deployed and revokes the new one', async () => {
    const sims = track(await startSimulators({ fleet: { ...FAST_SIGNALS, size: 5 } }));
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims));
    sims.faults.add({
      system: 'jamf',
      method: 'PUT',
      path: /osxconfigurationprofiles/,
      times: Infinity,
      respond: { status: 500, body: '<html><p>Error: boom</p></html>' },
    });
    const run = await apply(sims, ws);
    expect(run.code).toBe(1);
    expect(mintedKeys(sims).every((k) => !k.active)).toBe(true);
    expect(readManagedSettings(sims.jamf.profileVersions().at(-1)!, NAMES).keyId).toBe(sims.ids.oldKeyId);
    expect(readEvidence(sims)!.state).toBe('pending');
    sims.faults.clear();
    const again = await apply(sims, ws);
    expect(again.code, again.stdout).toBe(0);
    expect(readEvidence(sims)!.state).toBe('awaiting-revocation');
    expect(mintedKeys(sims).filter((k) => k.active)).toHaveLength(1);
  });

  it('a key created but answered with a reset is found by name and revoked', async () => {
    const sims = track(await startSimulators({ fleet: { ...FAST_SIGNALS, size: 5 } }));
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims));
    sims.faults.add({ system: 'thoth', method: 'POST', path: /\/api-keys$/, after: true, respond: { reset: true } });
    const run = await apply(sims, ws);
    expect(run.code).toBe(1);
    const creates = sims.log.entries().filter((e) => e.method === 'POST' && /\/api-keys$/.test(e.path));
    expect(creates).toHaveLength(1); // never retried
    expect(mintedKeys(sims)).toHaveLength(1);
    expect(mintedKeys(sims)[0]!.active).toBe(false);
    expect(readManagedSettings(sims.jamf.profileVersions().at(-1)!, NAMES).keyId).toBe(sims.ids.oldKeyId);
  });

  it('a run killed after creating the key: the next run revokes the lost key and rotates', async () => {
    const sims = track(await startSimulators({ fleet: { ...FAST_SIGNALS, size: 5 } }));
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims));
    const env = { GITHUB_RUN_ID: '777' };
    // The key is recorded together with its authorization (one commit before the MDM write): kill
    // the run as soon as the new key exists (its plaintext is masked the moment it arrives), before
    // that commit. The record does not name it; the next run finds it by name.
    const killed = await runAction({
      workspace: ws,
      inputs: simInputs(sims, { mode: 'apply' }),
      env: simEnv(sims, env),
      killWhen: (out) => /evidence: state pending[\s\S]*::add-mask::thoth_live_/.test(out),
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(readEvidence(sims)!.state).toBe('pending');
    expect(readEvidence(sims)!.newKey).toBeUndefined();
    const lost = mintedKeys(sims)[0]!;
    expect(lost.active).toBe(true);
    const resumed = await runAction({
      workspace: ws,
      inputs: simInputs(sims, { mode: 'apply' }),
      env: simEnv(sims, { ...env, GITHUB_RUN_ATTEMPT: '2' }),
    });
    expect(resumed.code, resumed.stdout).toBe(0);
    expect(sims.thoth.keys().find((k) => k.id === lost.id)!.active).toBe(false);
    const active = mintedKeys(sims).filter((k) => k.active);
    expect(active).toHaveLength(1);
    expect(readManagedSettings(sims.jamf.profileVersions().at(-1)!, NAMES).keyId).toBe(active[0]!.id);
  });

  it('concurrent applies on one intent end with exactly one new key', async () => {
    const sims = track(await startSimulators({ fleet: { ...FAST_SIGNALS, size: 5 } }));
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims));
    const runs = await Promise.all([1, 2, 3].map((i) => apply(sims!, ws, {}, { GITHUB_RUN_ID: String(5000 + i) })));
    expect(runs.filter((r) => r.code === 0).length).toBeGreaterThanOrEqual(1);
    expect(mintedKeys(sims).filter((k) => k.active)).toHaveLength(1);
    expect(mintedKeys(sims)).toHaveLength(1);
  });
});
