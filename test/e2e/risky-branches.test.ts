/**
 * The branches where a mistake costs a fleet its access (issue 13): an apply inside the validation
 * window, a fleet that regresses after validation, validation failing (rollback and hold) under a
 * fault, an authorize denial, and a write whose read-back fails too. Judged from what the
 * simulators saw; the global oracle (test/setup/oracle.ts) judges every DELETE of these runs too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators, type SimOptions } from '../../sim/index.js';
import {
  FAST_SIGNALS,
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type JamfIntentOptions,
  type Workspace,
} from './harness.js';
import { readEvidence } from './evidence.js';

const PROFILE_PUT = /^\/JSSResource\/osxconfigurationprofiles\/id\/\d+$/;

let sims: Simulators | undefined;
afterEach(async () => {
  await sims?.close();
  sims = undefined;
});

interface Rig {
  s: Simulators;
  ws: Workspace;
}
let runSeq = 500_000 + Math.floor(Math.random() * 400_000);

async function rig(o: { sim?: SimOptions; intent?: JamfIntentOptions }): Promise<Rig> {
  const s = (sims = await startSimulators({ fleet: { size: 5, ...FAST_SIGNALS }, ...o.sim }));
  const ws = makeWorkspace();
  ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s, o.intent));
  return { s, ws };
}

function apply(r: Rig): Promise<ActionRun> {
  return runAction({
    workspace: r.ws,
    inputs: simInputs(r.s, { mode: 'apply' }),
    env: simEnv(r.s, { GITHUB_RUN_ID: String(++runSeq) }),
    timeoutMs: 90_000,
  });
}

/** The fault answered at least one request (the case is not vacuous). */
const fired = (s: Simulators, system: string, method: string, status: number): boolean =>
  s.log.history().some((e) => e.system === system && e.method === method && e.status === status);
const deletes = (s: Simulators): string[] => s.journal.deletes.map((d) => d.keyId);
const active = (s: Simulators, id: string): boolean | undefined => s.thoth.key(id)?.active;
const sleepUntil = (t: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, t - Date.now())));
const validation = (window: string, poll: string, timeout = '10s') =>
  `validation:\n  window: ${window}\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: ${timeout}\n  pollInterval: ${poll}`;

describe('inside the validation window nothing is revoked', () => {
  it('applies at window/2 and at window − one poll make no DELETE; the first apply after the window does', async () => {
    // Window 12 s, poll 3 s: the run at window/2 has 3 s to finish before the one at window − poll
    // is due, and that one a whole poll interval to start and read the record: runs spawned on a
    // loaded 2-core machine need seconds (with 6 s and 1 s they did not always get them).
    const r = await rig({ intent: { validation: validation('12s', '3s') } });
    const first = await apply(r);
    expect(first.outputs['status'], first.stdout).toBe('in-progress');
    const validatedAt = new Date(readEvidence(r.s)!.validatedAt!).getTime();
    for (const at of [validatedAt + 6_000, validatedAt + 9_000]) {
      await sleepUntil(at);
      const run = await apply(r);
      expect(run.outputs['status'], run.stdout).toBe('in-progress');
      expect(deletes(r.s), `apply at +${at - validatedAt} ms`).toEqual([]);
      expect(active(r.s, r.s.ids.oldKeyId)).toBe(true);
    }
    await sleepUntil(validatedAt + 12_100);
    const last = await apply(r);
    expect(last.outputs['status'], last.stdout).toBe('completed');
    expect(deletes(r.s)).toEqual([r.s.ids.oldKeyId]);
  });
});

describe('a fleet that regresses after validation', () => {
  it('revalidation fails: the old key is kept and the run fails', async () => {
    const r = await rig({ intent: { validation: validation('1s', '200ms', '3s') } });
    expect((await apply(r)).outputs['status']).toBe('in-progress');
    // Three of five devices go back to the old key and stay there (a restored backup, a stuck agent).
    for (const i of [0, 1, 2]) {
      r.s.fleet.setKey(i, r.s.ids.oldKeyId);
      r.s.fleet.setBehaviour(i, 'stuck');
    }
    await sleepUntil(new Date(readEvidence(r.s)!.validatedAt!).getTime() + 1_100);
    const run = await apply(r);
    expect(run.code, run.stdout).toBe(1);
    expect(deletes(r.s)).toEqual([]);
    expect(active(r.s, r.s.ids.oldKeyId)).toBe(true);
    expect(readEvidence(r.s)!.events.some((e) => e.step === 'revalidate' && e.outcome !== 'ok')).toBe(true);
  });
});

describe('validation fails (stuck fleet) under a fault', () => {
  it('rollback: restore, with a Jamf 5xx on the first restore PUT, never revokes the key the group still receives', async () => {
    const r = await rig({
      sim: { fleet: { size: 5, stuck: 3 } },
      intent: { validation: validation('1s', '200ms', '2s') },
    });
    // PUT 1 deploys the new key; PUT 2 is the restore: it fails once (then the retry succeeds or the run stops).
    r.s.faults.add({
      system: 'jamf',
      method: 'PUT',
      path: PROFILE_PUT,
      nth: 2,
      times: 1,
      respond: { status: 503, body: 'Service Unavailable' },
    });
    const run = await apply(r);
    expect(run.code, run.stdout).toBe(1);
    expect(fired(r.s, 'jamf', 'PUT', 503)).toBe(true);
    expect(active(r.s, r.s.ids.oldKeyId)).toBe(true);
    const rec = readEvidence(r.s)!;
    const fresh = rec.newKey!.keyId;
    const restored =
      r.s.jamf.currentPayloads().includes(r.s.ids.oldKeyId) && !r.s.jamf.currentPayloads().includes(`>${fresh}<`);
    if (restored) expect(rec.state).toBe('rolled-back');
    else expect(active(r.s, fresh)).toBe(true);
    expect(r.s.journal.deletes.filter((d) => d.keyId === r.s.ids.oldKeyId)).toEqual([]);
  });

  it('rollback: restore that cannot write at all (persistent Jamf 5xx) keeps the new key valid and says so', async () => {
    const r = await rig({
      sim: { fleet: { size: 5, stuck: 3 } },
      intent: { validation: validation('1s', '200ms', '2s') },
    });
    r.s.faults.add({
      system: 'jamf',
      method: 'PUT',
      path: PROFILE_PUT,
      nth: 2,
      times: Infinity,
      respond: { status: 503, body: 'Service Unavailable' },
    });
    const run = await apply(r);
    expect(run.code, run.stdout).toBe(1);
    expect(fired(r.s, 'jamf', 'PUT', 503)).toBe(true);
    const rec = readEvidence(r.s)!;
    expect(deletes(r.s)).toEqual([]);
    expect(active(r.s, rec.newKey!.keyId)).toBe(true);
    expect(active(r.s, r.s.ids.oldKeyId)).toBe(true);
    expect(rec.events.some((e) => e.step === 'rollback' && e.outcome === 'failed')).toBe(true);
    expect(rec['lease']).toBeUndefined();
  });

  it('hold, with a Thoth 5xx during validation: both keys kept, the run fails and releases its lease', async () => {
    const r = await rig({
      sim: { fleet: { size: 5, stuck: 3 } },
      intent: { rollback: 'hold', validation: validation('1s', '200ms', '2s') },
    });
    r.s.faults.add({
      system: 'thoth',
      method: 'GET',
      path: /\/endpoints$/,
      nth: 2,
      times: 1,
      respond: { status: 502, body: 'Bad Gateway' },
    });
    const run = await apply(r);
    expect(run.code, run.stdout).toBe(1);
    expect(fired(r.s, 'thoth', 'GET', 502)).toBe(true);
    const rec = readEvidence(r.s)!;
    expect(deletes(r.s)).toEqual([]);
    expect(active(r.s, rec.newKey!.keyId)).toBe(true);
    expect(active(r.s, r.s.ids.oldKeyId)).toBe(true);
    expect(rec.events.some((e) => e.step === 'hold')).toBe(true);
    expect(rec['lease']).toBeUndefined();
  });
});

describe('authorize denial and two faults in one case', () => {
  it('a new key the control plane does not authorize is never delivered and is revoked; the old key stays', async () => {
    const r = await rig({});
    r.s.faults.add({
      system: 'thoth',
      method: 'POST',
      path: /\/api-keys\/[^/]+\/authorize$/,
      times: Infinity,
      respond: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          valid: true,
          permission_allowed: false,
          scope_allowed: true,
          expired: false,
          scope_level: 'fleet',
          scope_target_id: 'x',
          validated_at: new Date().toISOString(),
        }),
      },
    });
    const run = await apply(r);
    expect(run.code, run.stdout).toBe(1);
    expect(r.s.log.history().some((e) => /\/authorize$/.test(e.path))).toBe(true);
    expect(r.s.jamf.profileHistory().filter((v) => v.source === 'api')).toEqual([]);
    expect(active(r.s, r.s.ids.oldKeyId)).toBe(true);
    const minted = r.s.journal.created.map((c) => c.keyId);
    expect(minted).toHaveLength(1);
    expect(deletes(r.s)).toEqual(minted);
  });

  it('the Jamf PUT loses its answer AND the read-back fails: the run stops safely and the next apply finishes', async () => {
    const r = await rig({ intent: { validation: validation('1s', '200ms') } });
    r.s.faults.add({
      system: 'jamf',
      method: 'PUT',
      path: PROFILE_PUT,
      times: 1,
      after: true,
      respond: { reset: true },
    });
    r.s.faults.add({
      system: 'jamf',
      method: 'GET',
      path: PROFILE_PUT,
      nth: 2,
      times: Infinity,
      respond: { status: 500, body: 'Internal Server Error' },
    });
    const run = await apply(r);
    expect(run.signal).toBeNull();
    expect(fired(r.s, 'jamf', 'PUT', 0) && fired(r.s, 'jamf', 'GET', 500)).toBe(true);
    expect(deletes(r.s)).toEqual([]);
    r.s.faults.clear();
    let status = run.outputs['status'];
    for (let i = 0; i < 4 && status !== 'completed'; i++) {
      const rec = readEvidence(r.s);
      if (rec?.validatedAt) await sleepUntil(new Date(rec.validatedAt).getTime() + 1_100);
      const lease = rec?.['lease'] as { run: { id: string; attempt: number } } | undefined;
      const again = await runAction({
        workspace: r.ws,
        inputs: simInputs(r.s, { mode: 'apply' }),
        timeoutMs: 90_000,
        env: simEnv(r.s, {
          GITHUB_RUN_ID: lease ? lease.run.id : String(++runSeq),
          GITHUB_RUN_ATTEMPT: String(lease ? lease.run.attempt + 1 : 1),
        }),
      });
      status = again.outputs['status'];
    }
    expect(status).toBe('completed');
    expect(deletes(r.s)).toEqual([r.s.ids.oldKeyId]);
  });
});
