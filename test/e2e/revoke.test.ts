import { describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { readManagedSettings } from '../mdm-values.js';
import { findLeaks } from '../leak-scan.js';
import { mintedKeys, readEvidence } from './evidence.js';
import { jamfIntent, makeWorkspace, runAction, simEnv, simInputs, type ActionRun, closeAfterAll } from './harness.js';

const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
// The cases run concurrently, each on its own simulators; every set is closed when the file is done.
const track = closeAfterAll();

async function revoke(s: Simulators, keyIds: string, extra: Record<string, string> = {}): Promise<ActionRun> {
  const ws = makeWorkspace();
  ws.write(
    '.thoth/rotations/corpsec.yaml',
    jamfIntent(s, {
      validation: 'validation:\n  window: 24h\n  minHealthy: 80%\n  timeout: 8s\n  pollInterval: 200ms',
    }),
  );
  return runAction({
    workspace: ws,
    inputs: simInputs(s, {
      mode: 'revoke',
      'key-ids': keyIds,
      reason: 'INC-42: key pasted in a public gist',
      ...extra,
    }),
    env: simEnv(s, { GITHUB_EVENT_NAME: 'workflow_dispatch' }),
  });
}

const current = (s: Simulators) => readManagedSettings(s.jamf.profileVersions().at(-1)!, NAMES);

describe.concurrent('revoke (workflow_dispatch) through the bundled action', () => {
  it('revoking the deployed key with replace leaves every online endpoint on a new valid key and the old one revoked and listed', async () => {
    const sims = track(await startSimulators({ fleet: { size: 12, offline: 2 } }));
    const run = await revoke(sims, sims.ids.oldKeyId);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['status']).toBe('revoked');
    expect(run.outputs['revoked-key-ids']).toBe(sims.ids.oldKeyId);
    const replacement = mintedKeys(sims);
    expect(replacement).toHaveLength(1);
    expect(replacement[0]!.active).toBe(true);
    expect(run.outputs['key-id']).toBe(replacement[0]!.id);
    expect(sims.thoth.keys().find((k) => k.id === sims!.ids.oldKeyId)!.active).toBe(false);
    const cfg = current(sims);
    expect(cfg.keyId).toBe(replacement[0]!.id);
    expect(cfg.revokedKeyIds).toEqual([sims.ids.oldKeyId]);
    const online = sims.fleet.endpoints().filter((e) => e.behaviour === 'online');
    expect(online.length).toBe(10);
    expect(online.every((e) => e.keyId === replacement[0]!.id)).toBe(true);
    // The new key was deployed before the old one died: never a window without a valid key. The
    // Jamf profile PUT carrying the replacement is compared with the DELETE of the deployed key (the
    // first PUT of a run is an evidence commit, which says nothing about the order).
    const entries = sims.log.entries();
    const profilePut = entries.findIndex(
      (e) => e.system === 'jamf' && e.method === 'PUT' && e.path.startsWith('/JSSResource/osxconfigurationprofiles/'),
    );
    const oldDelete = entries.findIndex(
      (e) => e.system === 'thoth' && e.method === 'DELETE' && e.path.endsWith(`/api-keys/${sims!.ids.oldKeyId}`),
    );
    expect(profilePut).toBeGreaterThanOrEqual(0);
    expect(oldDelete).toBeGreaterThan(profilePut);
    const rec = readEvidence(sims)!;
    expect(rec.state).toBe('revoked');
    expect(rec.reason).toContain('INC-42');
    expect(rec.revokedKeys?.map((k) => k.keyId)).toEqual([sims.ids.oldKeyId]);
    expect(run.summary).toContain('revoked');
    expect(
      findLeaks(
        {
          stdout: run.stdout,
          stderr: run.stderr,
          summary: run.summary,
          outputs: JSON.stringify(run.outputs),
          evidence: sims.github.file(`.thoth/evidence/${sims.ids.fleetId}/corpsec-macos-2026-12.json`, 'main')!,
        },
        sims.secrets(),
      ),
    ).toEqual([]);
  });

  it('revoking an old, undeployed key only DELETEs it and lists it in the configuration', async () => {
    const sims = track(await startSimulators({ fleet: { size: 6 } }));
    const run = await revoke(sims, sims.ids.undeployedKeyId);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['status']).toBe('revoked');
    expect(mintedKeys(sims)).toEqual([]);
    expect(sims.thoth.keys().find((k) => k.id === sims!.ids.undeployedKeyId)!.active).toBe(false);
    expect(current(sims).keyId).toBe(sims.ids.oldKeyId);
    expect(current(sims).revokedKeyIds).toEqual([sims.ids.undeployedKeyId]);
    expect(sims.thoth.keys().find((k) => k.id === sims!.ids.oldKeyId)!.active).toBe(true);
  });

  it('a mistyped id mutates nothing and names the id', async () => {
    const sims = track(await startSimulators({ fleet: { size: 4 } }));
    sims.log.clear();
    const run = await revoke(sims, `${sims.ids.undeployedKeyId}, key_doesnotexist`);
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(run.stdout).toContain('key_doesnotexist is not in the key list');
    expect(sims.log.mutations()).toEqual([]);
  });

  it("another tenant's key is refused before any mutation", async () => {
    const sims = track(await startSimulators({ fleet: { size: 4 } }));
    sims.log.clear();
    const run = await revoke(sims, sims.ids.otherTenantKeyId);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${sims.ids.otherTenantKeyId} is not in the key list`);
    expect(sims.log.mutations()).toEqual([]);
  });

  it('replace: false on the deployed key revokes it and warns that the fleet loses access', async () => {
    const sims = track(await startSimulators({ fleet: { size: 4 } }));
    const run = await revoke(sims, sims.ids.oldKeyId, { replace: 'false' });
    expect(run.code, run.stdout).toBe(0);
    expect(mintedKeys(sims)).toEqual([]);
    expect(sims.thoth.keys().find((k) => k.id === sims!.ids.oldKeyId)!.active).toBe(false);
    expect(current(sims).revokedKeyIds).toContain(sims.ids.oldKeyId);
    expect(run.summary).toContain('fleet loses access');
  });

  it('revoke without a reason is rejected before any request', async () => {
    const sims = track(await startSimulators({ fleet: { size: 4 } }));
    sims.log.clear();
    const run = await revoke(sims, sims.ids.oldKeyId, { reason: '' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/reason/);
    expect(sims.log.entries()).toEqual([]);
  });
});
