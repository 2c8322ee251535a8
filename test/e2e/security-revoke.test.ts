import { describe, expect, it } from 'vitest';
import { startSimulators, type KeyInfo, type Simulators } from '../../sim/index.js';
import { readManagedSettings } from '../mdm-values.js';
import { forgeEvidence, mintedKeys, readEvidence } from './evidence.js';
import {
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
  closeAfterAll,
} from './harness.js';

/**
 * Spec §9 "Evidence is a claim, live state decides" and "Lost-key sweep", through the bundle:
 * whatever the evidence record says and whatever a key is called, the action DELETEs only keys
 * the control plane scopes to the intent's fleet that the configuration does not deliver.
 * Judged from what the simulators saw (request log, key states), not from what the action printed.
 */

const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
const OTHER_FLEET = 'flt-globex-windows';
const INTENT = 'corpsec-macos-2026-12';
/** A short validation window: the run after it revalidates and revokes. */
const VALIDATION =
  'validation:\n  window: 1s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms';

// The cases run concurrently, each on its own simulators; every set is closed when the file is done.
const track = closeAfterAll();

async function setup(size = 8): Promise<{ s: Simulators; ws: Workspace }> {
  const s = track(await startSimulators({ fleet: { size } }));
  const ws = makeWorkspace();
  ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s, { name: INTENT, validation: VALIDATION }));
  return { s, ws };
}

const apply = (s: Simulators, ws: Workspace): Promise<ActionRun> =>
  runAction({ workspace: ws, inputs: simInputs(s, { mode: 'apply' }), env: simEnv(s) });

/** The name this repository's runs give keys of the test intent (docs/security.md: key names). */
const ourName = (s: Simulators, run: string, o: { repo?: string; fleet?: string; intent?: string } = {}): string =>
  `thoth-rotate ${o.repo ?? `${s.creds.owner}/${s.creds.repo}`} ${o.fleet ?? s.ids.fleetId}/${o.intent ?? INTENT} run ${run}`;

const deletes = (s: Simulators): string[] =>
  s.log
    .entries()
    .filter((e) => e.system === 'thoth' && e.method === 'DELETE')
    .map((e) => decodeURIComponent(e.path.split('/').at(-1)!));
const activeOf = (s: Simulators, id: string): boolean => s.thoth.key(id)!.active;
const keyStates = (s: Simulators): Map<string, boolean> =>
  new Map(s.thoth.keys().map((k: KeyInfo) => [k.id, k.active]));

/** A first apply that validates: the record waits for the old key's revocation. */
async function firstApply(s: Simulators, ws: Workspace): Promise<void> {
  const first = await apply(s, ws);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  expect(readEvidence(s)!.state).toBe('awaiting-revocation');
}

describe.concurrent('live state decides before any DELETE (bundled action against the simulators)', () => {
  it("a forged, chain-valid record naming another fleet's key as the old key: no DELETE, the run fails naming the key and why", async () => {
    const { s, ws } = await setup();
    const foreign = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: OTHER_FLEET,
      permissions: ['read', 'execute'],
      name: 'globex-windows-runtime',
    });
    await firstApply(s, ws);
    forgeEvidence(s, (r) => ({
      ...r,
      oldKey: { keyId: foreign.keyId },
      validatedAt: new Date(Date.now() - 3_600_000).toISOString(),
    }));

    s.log.clear();
    const run = await apply(s, ws);
    expect(run.code, run.stdout).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(deletes(s)).toEqual([]);
    expect(activeOf(s, foreign.keyId)).toBe(true);
    expect(activeOf(s, s.ids.oldKeyId)).toBe(true);
    expect(run.stdout).toContain(
      `${foreign.keyId}: the control plane lists it as scoped to fleet ${OTHER_FLEET}, not to this intent's fleet ${s.ids.fleetId}`,
    );
    expect(run.summary).toContain(foreign.keyId);
    const rec = readEvidence(s)!;
    expect(rec.state).toBe('awaiting-revocation');
    expect(rec['lease']).toBeUndefined();
    expect(rec.events.at(-1)).toMatchObject({ step: 'revoke-refused', outcome: 'failed' });
    expect(rec.events.at(-1)!.detail).toContain(foreign.keyId);
  });

  it('a record naming the key the configuration delivers as the old key: no DELETE, the run fails', async () => {
    const { s, ws } = await setup();
    const before = s.jamf.currentPayloads();
    await firstApply(s, ws);
    const newKeyId = readEvidence(s)!.newKey!.keyId;
    // Someone put the old configuration back by hand after validation; the devices, not asked to
    // check in, still report the new key, so the revalidation passes.
    s.jamf.setPayloads(before);
    expect(readManagedSettings(s.jamf.currentPayloads(), NAMES).keyId).toBe(s.ids.oldKeyId);
    forgeEvidence(s, (r) => ({
      ...r,
      oldKey: { keyId: s.ids.oldKeyId },
      validatedAt: new Date(Date.now() - 3_600_000).toISOString(),
    }));

    s.log.clear();
    const run = await apply(s, ws);
    expect(run.code, run.stdout).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(deletes(s)).toEqual([]);
    expect(activeOf(s, s.ids.oldKeyId)).toBe(true);
    expect(activeOf(s, newKeyId)).toBe(true);
    expect(run.stdout).toContain(`${s.ids.oldKeyId}: the MDM configuration delivers it now`);
    expect(readEvidence(s)!.events.at(-1)).toMatchObject({ step: 'revoke-refused', outcome: 'failed' });
  });

  it('the lost-key sweep revokes only keys named for this repository, fleet and intent and scoped to the fleet', async () => {
    const { s, ws } = await setup(5);
    const lost = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read'],
      name: ourName(s, '45.1'),
    });
    const survivors = {
      // The old-style name (intent name only) on another fleet's live key: what the prefix sweep revoked.
      oldStyleOtherFleet: s.thoth.createKeyDirect({
        scopeLevel: 'fleet',
        scopeTargetId: OTHER_FLEET,
        permissions: ['read', 'execute'],
        name: `thoth-rotate ${INTENT} run 41.1`,
      }),
      // The same old-style name on this fleet: no repository in the name, so not provably ours.
      oldStyleThisFleet: s.thoth.createKeyDirect({
        scopeLevel: 'fleet',
        scopeTargetId: s.ids.fleetId,
        permissions: ['read'],
        name: `thoth-rotate ${INTENT} run 40.1`,
      }),
      otherIntent: s.thoth.createKeyDirect({
        scopeLevel: 'fleet',
        scopeTargetId: s.ids.fleetId,
        permissions: ['read'],
        name: ourName(s, '42.1', { intent: `${INTENT}-b` }),
      }),
      otherRepo: s.thoth.createKeyDirect({
        scopeLevel: 'fleet',
        scopeTargetId: s.ids.fleetId,
        permissions: ['read'],
        name: ourName(s, '43.1', { repo: `${s.creds.owner}/${s.creds.repo}-2` }),
      }),
      otherFleet: s.thoth.createKeyDirect({
        scopeLevel: 'fleet',
        scopeTargetId: `${s.ids.fleetId}-2`,
        permissions: ['read'],
        name: ourName(s, '44.1', { fleet: `${s.ids.fleetId}-2` }),
      }),
    };
    s.log.clear();
    const run = await apply(s, ws);
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['status']).toBe('in-progress');
    expect(deletes(s)).toEqual([lost.keyId]);
    expect(activeOf(s, lost.keyId)).toBe(false);
    for (const [what, k] of Object.entries(survivors)) expect(activeOf(s, k.keyId), what).toBe(true);
    expect(readEvidence(s)!.events.some((e) => e.step === 'revoke-lost-key' && e.detail.includes(lost.keyId))).toBe(
      true,
    );
  });

  it('a key named exactly as this intent mints them but scoped elsewhere is refused: nothing revoked, nothing minted, the run fails', async () => {
    const { s, ws } = await setup(5);
    const elsewhere = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: OTHER_FLEET,
      permissions: ['read'],
      name: ourName(s, '46.1'),
    });
    const org = s.thoth.createKeyDirect({
      scopeLevel: 'organization',
      permissions: ['read'],
      name: ourName(s, '47.1'),
    });
    s.log.clear();
    const run = await apply(s, ws);
    expect(run.code, run.stdout).toBe(1);
    expect(deletes(s)).toEqual([]);
    expect(s.log.mutations().filter((e) => e.system === 'thoth')).toEqual([]);
    expect(mintedKeys(s).filter((k) => k.id !== elsewhere.keyId && k.id !== org.keyId)).toEqual([]);
    expect(activeOf(s, elsewhere.keyId)).toBe(true);
    expect(activeOf(s, org.keyId)).toBe(true);
    expect(run.stdout).toContain(`${elsewhere.keyId}: the control plane lists it as scoped to fleet ${OTHER_FLEET}`);
    expect(run.stdout).toContain(`${org.keyId}: the control plane lists it as organization-scoped`);
    const rec = readEvidence(s)!;
    expect(rec.events.filter((e) => e.step === 'revoke-refused').map((e) => e.detail.split(' ')[0])).toEqual([
      elsewhere.keyId,
      org.keyId,
    ]);
    expect(rec['lease']).toBeUndefined();
  });

  it('a full rotation changes no key but the old one (and mints one)', async () => {
    const { s, ws } = await setup();
    s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: OTHER_FLEET,
      permissions: ['read', 'execute'],
      name: 'globex-windows-runtime',
    });
    s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: OTHER_FLEET,
      permissions: ['read'],
      name: `thoth-rotate ${INTENT} run 41.1`,
    });
    s.thoth.createKeyDirect({ scopeLevel: 'organization', permissions: ['read'], name: 'siem-export' });
    const before = keyStates(s);
    s.log.clear();
    await firstApply(s, ws);
    const rec = readEvidence(s)!;
    expect(deletes(s)).toEqual([]);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(rec.validatedAt!) + 1_100 - Date.now())));
    s.log.clear();
    const second = await apply(s, ws);
    expect(second.code, second.stdout).toBe(0);
    expect(second.outputs['status']).toBe('completed');
    // What the guard costs the revoking run: one key list and one profile read before the DELETE
    // (the key list after it confirms the revocation, as before).
    const reads = s.log
      .entries()
      .filter(
        (e) => e.method === 'GET' && (/\/thoth\/api-keys$/.test(e.path) || /osxconfigurationprofiles/.test(e.path)),
      );
    expect(reads.map((e) => e.system).sort()).toEqual(['jamf', 'thoth', 'thoth']);
    const deleteAt = s.log.entries().findIndex((e) => e.method === 'DELETE');
    expect(
      s.log
        .entries()
        .slice(0, deleteAt)
        .filter((e) => reads.includes(e))
        .map((e) => e.system)
        .sort(),
    ).toEqual(['jamf', 'thoth']);

    const after = keyStates(s);
    const changed = [...before].filter(([id, active]) => after.get(id) !== active).map(([id]) => id);
    expect(changed).toEqual([s.ids.oldKeyId]);
    expect(after.get(s.ids.oldKeyId)).toBe(false);
    const minted = [...after.keys()].filter((id) => !before.has(id));
    expect(minted).toEqual([rec.newKey!.keyId]);
    expect(after.get(rec.newKey!.keyId)).toBe(true);
    expect(deletes(s)).toEqual([s.ids.oldKeyId]);
    // The minted key's name identifies repository, fleet and intent.
    expect(s.thoth.key(rec.newKey!.keyId)!.name).toMatch(
      new RegExp(`^thoth-rotate ${s.creds.owner}/${s.creds.repo} ${s.ids.fleetId}/${INTENT} run \\d+\\.1$`),
    );
  });
});
