/**
 * Concurrency (issue #6, item 3): N parallel `apply` runs on one intent — as when pushes and
 * a schedule overlap — end with exactly one new key, one claim, one profile write, and an
 * evidence record written by one run; later, N parallel runs after the validation window
 * revoke the old key exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readMobileconfig } from '../../sim/index.js';
import {
  NAME,
  WINDOW_MS,
  apply,
  checkAlways,
  checkNoOrphan,
  delivered,
  evidence,
  minted,
  recover,
  runKillable,
  sleep,
  startCase,
  type Case,
} from './lib.js';
import { amendEvidence } from '../e2e/evidence.js';

const N = Number(process.env['THOTH_FAULTS_N'] ?? 5);
let c: Case | undefined;
afterEach(async () => {
  await c?.sims.close();
  c = undefined;
});

describe(`concurrency: ${N} parallel apply runs on one intent`, () => {
  it('end with exactly one new key, one claim, one profile write, and consistent evidence; then one revocation', async () => {
    c = await startCase();
    const s = c.sims;
    const versionsBefore = s.jamf.profileHistory().length;

    const first = await Promise.all(Array.from({ length: N }, () => apply(c!)));
    const statuses = first.map((r) => r.outputs['status']);
    expect(statuses.filter((st) => st === 'in-progress').length, statuses.join(', ')).toBeGreaterThanOrEqual(1);
    for (const r of first) expect(r.signal, r.stderr).toBeNull();

    // Exactly one new key, active and delivered; no other key minted at all.
    const keys = minted(s);
    expect(keys.map((k) => k.name)).toHaveLength(1);
    expect(keys[0]!.active).toBe(true);
    expect(delivered(s).keyId).toBe(keys[0]!.id);
    // One profile write, carrying that key.
    const writes = s.jamf.profileHistory().slice(versionsBefore);
    expect(writes).toHaveLength(1);
    expect(readMobileconfig(writes[0]!.payloads)?.keyId).toBe(keys[0]!.id);
    // One key creation request, one blank push round (every device pushed once, by one run).
    expect(s.log.mutations().filter((m) => m.system === 'thoth' && m.method === 'POST').length).toBe(1);
    const pushes = s.log.mutations().filter((m) => m.system === 'jamf' && m.path === '/api/v2/mdm/blank-push');
    const pushed = pushes.flatMap(
      (m) => (JSON.parse(m.bodyText ?? '{}') as { clientManagementIds?: string[] }).clientManagementIds ?? [],
    );
    expect(pushed.length).toBeGreaterThan(0);
    expect(new Set(pushed).size, 'a device was pushed twice: more than one run refreshed').toBe(pushed.length);

    // Evidence: one claim, every event by the winning run, chain verifies, state as expected.
    const rec = evidence(s)!;
    expect(rec.state).toBe('awaiting-revocation');
    expect(rec.newKey?.keyId).toBe(keys[0]!.id);
    expect(rec.events.filter((e) => e.step === 'claim')).toHaveLength(1);
    const winner = rec.events[0]!.run.id;
    expect(new Set(rec.events.map((e) => e.run.id))).toEqual(new Set([winner]));
    expect(keys[0]!.name).toContain(`run ${winner}.`);
    // The runs that lost said so, and changed nothing.
    const key = first.filter((r) => r.outputs['key-id']);
    expect(key.map((r) => r.outputs['key-id'])).toEqual([keys[0]!.id]);
    expect(checkAlways(c, 'apply')).toEqual([]);

    // After the validation window: N runs race to revoke the old key; it is revoked once.
    await sleep(Math.max(0, new Date(rec.validatedAt!).getTime() + WINDOW_MS + 50 - Date.now()));
    const before = s.log.entries().length;
    const second = await Promise.all(Array.from({ length: N }, () => apply(c!)));
    for (const r of second) expect(r.signal, r.stderr).toBeNull();
    const deletes = s.log
      .entries()
      .slice(before)
      .filter((e) => e.system === 'thoth' && e.method === 'DELETE');
    expect(deletes.map((d) => d.path)).toEqual([expect.stringContaining(s.ids.oldKeyId)]);
    const final = evidence(s)!;
    expect(final.state).toBe('completed');
    expect(final.events.filter((e) => e.step === 'revoke-old-key')).toHaveLength(1);
    expect(s.thoth.key(s.ids.oldKeyId)?.active).toBe(false);
    expect(checkAlways(c, 'apply')).toEqual([]);
    expect(checkNoOrphan(c)).toEqual([]);
    // Losing a race is not a failure: every run ends green (busy shows as in-progress), none crashed.
    for (const r of [...first, ...second]) {
      expect(['in-progress', 'completed', 'unchanged'], r.stdout).toContain(r.outputs['status']);
      expect(r.code, r.stdout).toBe(0);
    }
  }, 120_000);
});

describe(`concurrency: ${N} runs take over a rotation whose run died mid-deploy, at once`, () => {
  it("exactly one takes over; the dead run's key, which reached the profile, is never revoked while delivered", async () => {
    c = await startCase();
    const s = c.sims;
    // Kill the run right after Jamf applied its profile PUT (the answer held back): the key is
    // delivered, the record still says `authorized`, and a fresh process may read the old profile.
    s.faults.add({
      system: 'jamf',
      method: 'PUT',
      path: /osxconfigurationprofiles/,
      times: 1,
      after: true,
      respond: { hangMs: 10_000 },
    });
    let seen = 0;
    const killed = await runKillable(c, 'apply', {}, () => {
      if (!s.log.entries().some((e) => e.method === 'PUT' && /osxconfigurationprofiles/.test(e.path))) return false;
      seen ||= Date.now();
      return Date.now() - seen > 60;
    });
    s.faults.clear();
    expect(killed.signal).toBe('SIGKILL');
    expect(evidence(s)!.state).toBe('authorized');
    const deadKey = evidence(s)!.newKey!.keyId;
    expect(delivered(s).keyId).toBe(deadKey);
    // The lease (validation.timeout + 15 min) runs out: move it instead of waiting.
    const file = `.thoth/evidence/${s.ids.fleetId}/${NAME}.json`;
    amendEvidence(
      s,
      file,
      (r) => ({ ...r, lease: { ...r.lease!, until: new Date(Date.now() - 1000).toISOString() } }),
      { note: 'test-lease-expired' },
    );

    const runs = await Promise.all(Array.from({ length: N }, () => apply(c!)));
    for (const r of runs) expect(r.code, r.stdout).toBe(0);
    const after = evidence(s)!;
    expect(after.events.filter((e) => e.step === 'reconcile')).toHaveLength(1);
    expect(checkAlways(c, 'apply')).toEqual([]);
    // One run took over: it either read the profile with the dead run's key (then carried on
    // with that key) or a lagging replica's old profile (then minted exactly one new key).
    const fresh = minted(s).filter((k) => k.id !== deadKey);
    if (fresh.length === 0) expect(after.newKey?.keyId).toBe(deadKey);
    else expect(fresh).toHaveLength(1);

    const done = await recover(c, 'apply');
    expect(done.problems).toEqual([]);
    expect(done.finalState).toBe('completed');
    expect(checkNoOrphan(c)).toEqual([]);
    expect(s.thoth.key(deadKey)?.active).toBe(delivered(s).keyId === deadKey);
  }, 120_000);
});
