import { readFileSync } from 'node:fs';
/**
 * Recurring rotations (spec §10) through the bundled action. The clock that matters is the
 * deployed key's age: the control-plane simulator moves a key's `created_at` / `expires_at`
 * (`sims.thoth.setKeyTimes`), which is exactly what months passing would do to it, so the action
 * runs on its real clock with no test-only switch in the bundle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { parseRecord, verifyChain, type EvidenceRecord } from '../../src/evidence/record.js';
import { expectNoLeaks, mintedKeys } from './evidence.js';
import { jamfIntent, makeWorkspace, runAction, simEnv, simInputs, type ActionRun, type Workspace } from './harness.js';

const DAY = 86_400_000;
const NAME = 'corpsec-macos-policy';
const INTENT = '.thoth/rotations/corpsec.yaml';
/** Open at every moment: a cron occurrence every minute, each opening lasting a minute. */
const ALWAYS_OPEN = 'window:\n  schedule: "* * * * *"\n  duration: 1m';
const RECURRENCE = 'recurrence:\n  every: 90d\n  before: 14d';

let sims: Simulators | undefined;
afterEach(async () => {
  await sims?.close();
  sims = undefined;
});

const run = (s: Simulators, ws: Workspace, mode: 'apply' | 'plan' | 'verify'): Promise<ActionRun> =>
  runAction({ workspace: ws, inputs: simInputs(s, { mode }), env: simEnv(s) });

interface RotationEntry {
  name: string;
  state: string;
  newKeyId: string | null;
  oldKeyId: string | null;
  evidencePath: string;
  dueAt?: string;
  dueBecause?: string;
}
const rotation = (r: ActionRun): RotationEntry => (JSON.parse(r.outputs['rotations']!) as RotationEntry[])[0]!;

function cycleDir(s: Simulators): string {
  return `.thoth/evidence/${s.ids.fleetId}/${NAME}`;
}
/** The cycle records on the evidence branch, oldest first. */
function cycles(s: Simulators): string[] {
  const dir = `${cycleDir(s)}/`;
  return s.github
    .paths('main')
    .filter((p: string) => p.startsWith(dir))
    .sort();
}
function readCycle(s: Simulators, path: string): EvidenceRecord {
  const record = parseRecord(s.github.file(path, 'main')!, path);
  expect(verifyChain(record).ok).toBe(true);
  return record;
}
/** PUTs the GitHub simulator received since the log was last cleared. */
const githubPuts = (s: Simulators) => s.log.entries().filter((e) => e.system === 'github' && e.method === 'PUT');
/** The key the group is on: the one the last completed cycle deployed. */
const deployedKey = (s: Simulators, path: string) => readCycle(s, path).newKey!.keyId;

/** One cycle to the end: the first run deploys and validates, the one after the validation window revokes. */
async function completeCycle(s: Simulators, ws: Workspace): Promise<{ runs: ActionRun[]; path: string }> {
  const first = await run(s, ws, 'apply');
  expect(first.code, first.stdout + first.stderr).toBe(0);
  expect(first.outputs['status']).toBe('in-progress');
  const path = rotation(first).evidencePath;
  expect(path).toMatch(new RegExp(`^${cycleDir(s)}/\\d{8}T\\d{6}Z\\.json$`));
  const validatedAt = Date.parse(readCycle(s, path).validatedAt!);
  await new Promise((r) => setTimeout(r, Math.max(0, validatedAt + 2_100 - Date.now())));
  const second = await run(s, ws, 'apply');
  expect(second.code, second.stdout + second.stderr).toBe(0);
  expect(second.outputs['status']).toBe('completed');
  expect(rotation(second).evidencePath).toBe(path);
  expect(readCycle(s, path).state).toBe('completed');
  return { runs: [first, second], path };
}

/** A 5-device Jamf policy, always open, whose first cycle has completed: the key it deployed is `key1`. */
async function policyAfterOneCycle() {
  sims = await startSimulators({ fleet: { size: 5 } });
  const s = sims;
  const ws = makeWorkspace();
  ws.write(INTENT, jamfIntent(s, { name: NAME, window: ALWAYS_OPEN, extra: RECURRENCE }));
  const c1 = await completeCycle(s, ws);
  return { s, ws, c1, key1: deployedKey(s, c1.path) };
}

/** An apply with nothing due: unchanged, and not one request that writes anywhere. */
async function idleApply(s: Simulators, ws: Workspace): Promise<ActionRun> {
  s.log.clear();
  const idle = await run(s, ws, 'apply');
  expect(idle.code, idle.stdout + idle.stderr).toBe(0);
  expect(idle.outputs['status']).toBe('unchanged');
  expect(githubPuts(s)).toEqual([]);
  expect(s.log.mutations()).toEqual([]);
  return idle;
}

describe('recurring rotations (one policy, one record per cycle)', () => {
  it('rotates again and again: due by age, then by age, then by expiry; idle runs commit nothing; plan names the next cycle', async () => {
    sims = await startSimulators({ fleet: { size: 10 } });
    const s = sims;
    const ws = makeWorkspace();
    ws.write(INTENT, jamfIntent(s, { name: NAME, window: ALWAYS_OPEN, extra: RECURRENCE }));
    const runs: ActionRun[] = [];

    // The seeded deployed key is 200 days old: due by age since created_at + 90d.
    const seeded = s.thoth.key(s.ids.oldKeyId)!;
    const plan0 = await run(s, ws, 'plan');
    runs.push(plan0);
    expect(plan0.code, plan0.stdout).toBe(0);
    expect(rotation(plan0)).toMatchObject({
      dueAt: new Date(seeded.createdAt.getTime() + 90 * DAY).toISOString(),
      dueBecause: 'age',
      evidencePath: cycleDir(s),
    });
    expect(JSON.parse(plan0.outputs['matrix']!)).toEqual({ include: [{ intent: INTENT, fleet: s.ids.fleetId }] });
    expect(plan0.summary).toContain('Recurring policies');

    // Cycle 1 (age).
    const c1 = await completeCycle(s, ws);
    runs.push(...c1.runs);
    expect(rotation(c1.runs[0]!)).toMatchObject({ dueBecause: 'age', oldKeyId: s.ids.oldKeyId });
    expect(s.thoth.key(s.ids.oldKeyId)!.active).toBe(false);
    const key1 = deployedKey(s, c1.path);

    // Idle: the new key is young and far from expiry (ttl 90d: expires_at − 14d comes first).
    const idle1 = await idleApply(s, ws);
    runs.push(idle1);
    expect(rotation(idle1)).toMatchObject({ evidencePath: c1.path, dueBecause: 'expiry' });
    expect(Date.parse(rotation(idle1).dueAt!)).toBeGreaterThan(Date.now() + 75 * DAY);
    const plan1 = await run(s, ws, 'plan');
    runs.push(plan1);
    expect(JSON.parse(plan1.outputs['matrix']!)).toEqual({ include: [] });
    expect(rotation(plan1).evidencePath).toBe(c1.path);
    expect(plan1.summary).toContain('next cycle due');

    // Cycle 2: the key is now 100 days old.
    s.thoth.setKeyTimes(key1, { createdAt: new Date(Date.now() - 100 * DAY) });
    const c2 = await completeCycle(s, ws);
    runs.push(...c2.runs);
    expect(rotation(c2.runs[0]!)).toMatchObject({ dueBecause: 'age', oldKeyId: key1 });
    expect(c2.path > c1.path).toBe(true);
    expect(s.thoth.key(key1)!.active).toBe(false);
    const key2 = deployedKey(s, c2.path);
    runs.push(await idleApply(s, ws));

    // Cycle 3: young, but expiring in 5 days (within before: 14d).
    s.thoth.setKeyTimes(key2, { expiresAt: new Date(Date.now() + 5 * DAY) });
    const plan2 = await run(s, ws, 'plan');
    runs.push(plan2);
    expect(rotation(plan2)).toMatchObject({ dueBecause: 'expiry' });
    expect(JSON.parse(plan2.outputs['matrix']!).include).toHaveLength(1);
    const c3 = await completeCycle(s, ws);
    runs.push(...c3.runs);
    expect(rotation(c3.runs[0]!)).toMatchObject({ dueBecause: 'expiry', oldKeyId: key2 });
    runs.push(await idleApply(s, ws));

    // One record per cycle, each its own one-shot rotation from the key before to the next.
    expect(cycles(s)).toEqual([c1.path, c2.path, c3.path]);
    expect([c1.path, c2.path, c3.path].map((p) => readCycle(s, p).oldKey?.keyId)).toEqual([s.ids.oldKeyId, key1, key2]);
    expect(mintedKeys(s).filter((k) => k.active)).toHaveLength(1);

    // An auditor's verify accepts every cycle, next-cycle claims included, and changes nothing.
    s.log.clear();
    const audit = await run(s, ws, 'verify');
    runs.push(audit);
    expect(audit.outputs['status'], audit.stdout + audit.stderr).toBe('verified');
    const report = JSON.parse(readFileSync(audit.outputs['report']!, 'utf8')) as {
      records: { path: string; ok: boolean }[];
    };
    expect(report.records.map((r) => [r.path, r.ok])).toEqual([c1.path, c2.path, c3.path].map((p) => [p, true]));
    expect(s.log.entries().filter((e) => e.method !== 'GET' && !e.path.includes('token'))).toEqual([]);
    expectNoLeaks(s, runs);
  });

  it('a cycle that rolls back stops the policy until the intent changes; the edit restarts it', async () => {
    sims = await startSimulators({ fleet: { size: 10, stuck: 10 } });
    const s = sims;
    const ws = makeWorkspace();
    const intent = (ticket: string) =>
      jamfIntent(s, {
        name: NAME,
        window: ALWAYS_OPEN,
        extra: RECURRENCE,
        validation: 'validation:\n  window: 2s\n  minHealthy: 90%\n  timeout: 2s\n  pollInterval: 300ms',
      }).replace('ticket: SEC-1234', `ticket: ${ticket}`);
    ws.write(INTENT, intent('SEC-1234'));

    const failed = await run(s, ws, 'apply');
    expect(failed.code).toBe(1);
    expect(failed.outputs['status']).toBe('rolled-back');
    const first = rotation(failed).evidencePath;
    expect(readCycle(s, first).state).toBe('rolled-back');
    expect(mintedKeys(s)).toHaveLength(1);

    // Stopped: nothing starts, nothing is committed, the warning names the policy.
    s.log.clear();
    const stopped = await run(s, ws, 'apply');
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0);
    expect(stopped.outputs['status']).toBe('unchanged');
    expect(stopped.stdout).toMatch(new RegExp(`::warning::.*recurring policy ${NAME} .*is stopped`));
    expect(githubPuts(s)).toEqual([]);
    expect(s.log.mutations()).toEqual([]);
    expect(rotation(stopped).evidencePath).toBe(first);
    const plan = await run(s, ws, 'plan');
    expect(JSON.parse(plan.outputs['matrix']!)).toEqual({ include: [] });
    expect(plan.summary).toContain('is stopped');
    expect(mintedKeys(s)).toHaveLength(1);

    // Any edit to the intent file restarts the policy: a new cycle is claimed.
    ws.write(INTENT, intent('SEC-1235'));
    const restarted = await run(s, ws, 'apply');
    expect(restarted.outputs['status']).toBe('rolled-back');
    const second = rotation(restarted).evidencePath;
    expect(second > first).toBe(true);
    expect(cycles(s)).toEqual([first, second]);
    expect(mintedKeys(s)).toHaveLength(2);
    expectNoLeaks(s, [failed, stopped, plan, restarted]);
  });

  it('emergency revocation is a cycle of its own, or closes the running one; the policy carries on from the replacement key', async () => {
    sims = await startSimulators({ fleet: { size: 10 } });
    const s = sims;
    const ws = makeWorkspace();
    ws.write(
      INTENT,
      jamfIntent(s, {
        name: NAME,
        window: ALWAYS_OPEN,
        extra: RECURRENCE,
        validation: 'validation:\n  window: 1h\n  minHealthy: 80%\n  timeout: 10s\n  pollInterval: 200ms',
      }),
    );
    const revoke = (keyId: string) =>
      runAction({
        workspace: ws,
        inputs: simInputs(s, { mode: 'revoke', 'key-ids': keyId, reason: 'INC-42: key pasted in a public gist' }),
        env: simEnv(s, { GITHUB_EVENT_NAME: 'workflow_dispatch' }),
      });

    // No cycle yet: the revocation is recorded as a cycle of its own, ending revoked.
    const r1 = await revoke(s.ids.oldKeyId);
    expect(r1.code, r1.stdout + r1.stderr).toBe(0);
    expect(r1.outputs['status']).toBe('revoked');
    const [own] = cycles(s);
    expect(own).toMatch(new RegExp(`^${cycleDir(s)}/\\d{8}T\\d{6}Z\\.json$`));
    expect(readCycle(s, own!).state).toBe('revoked');
    const replacement1 = r1.outputs['key-id']!;
    // The replacement is young: nothing due, nothing written.
    const idle1 = await idleApply(s, ws);
    expect(rotation(idle1).evidencePath).toBe(own);

    // A cycle in flight (validation window of an hour) is closed by the revocation of its key.
    s.thoth.setKeyTimes(replacement1, { createdAt: new Date(Date.now() - 91 * DAY) });
    const started = await run(s, ws, 'apply');
    expect(started.outputs['status']).toBe('in-progress');
    const running = rotation(started).evidencePath;
    expect(running > own!).toBe(true);
    const deployed = readCycle(s, running).newKey!.keyId;
    const r2 = await revoke(deployed);
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(rotation(r2).evidencePath).toBe(running);
    expect(readCycle(s, running).state).toBe('revoked');
    expect(cycles(s)).toEqual([own, running]);
    // Carries on: measured from the second replacement, which is young.
    const idle2 = await idleApply(s, ws);
    expect(rotation(idle2)).toMatchObject({ evidencePath: running, dueBecause: 'expiry' });
    expectNoLeaks(s, [r1, idle1, started, r2, idle2]);
  });

  it('a due cycle waits for the schedule window: apply commits nothing, plan says when it opens', async () => {
    sims = await startSimulators({ fleet: { size: 5 } });
    const s = sims;
    const ws = makeWorkspace();
    // New Year, one minute: closed at any moment a test runs (but the first minute of a year).
    ws.write(
      INTENT,
      jamfIntent(s, { name: NAME, window: 'window:\n  schedule: "0 0 1 1 *"\n  duration: 1m', extra: RECURRENCE }),
    );
    s.log.clear();
    const apply = await run(s, ws, 'apply');
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.outputs['status']).toBe('unchanged');
    expect(rotation(apply)).toMatchObject({ dueBecause: 'age', evidencePath: cycleDir(s) });
    expect(Date.parse(rotation(apply).dueAt!)).toBeLessThan(Date.now());
    expect(githubPuts(s)).toEqual([]);
    expect(s.log.mutations()).toEqual([]);
    const plan = await run(s, ws, 'plan');
    expect(JSON.parse(plan.outputs['matrix']!)).toEqual({ include: [] });
    expect(plan.summary).toMatch(/due since .*outside the window; opens \d{4}-01-01 00:00 UTC \(in \d+ d\)/);
    expect(cycles(s)).toEqual([]);
  });

  it('whoever pushes to the evidence branch cannot steer the policy with a planted cycle file', async () => {
    const { s, ws, c1, key1 } = await policyAfterOneCycle();
    const genuine = s.github.file(c1.path, 'main')!;
    const stamp = (at: Date) =>
      at
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
    // (1) A far-future name would sort as the latest cycle for ever: refused, nothing done.
    const future = `${cycleDir(s)}/99991231T235959Z.json`;
    const beforePlant = s.github.commits('main').at(-1)!.sha;
    s.github.putFile(future, genuine, { branch: 'main', message: 'plant' });
    s.thoth.setKeyTimes(key1, { createdAt: new Date(Date.now() - 100 * DAY) });
    s.log.clear();
    const refused = await run(s, ws, 'apply');
    expect(refused.outputs['status']).toBe('failed');
    expect(refused.stdout).toContain('99991231T235959Z.json is not a cycle this action claimed');
    expect(s.log.mutations()).toEqual([]);
    s.github.resetBranch('main', beforePlant); // the plant removed
    // (2) A record copied from another cycle under a plausible later name: not that cycle's record.
    const copied = `${cycleDir(s)}/${stamp(new Date(Date.now() + 30_000))}.json`; // within the clock skew allowed
    s.github.putFile(copied, genuine, { branch: 'main', message: 'plant' });
    s.log.clear();
    const copy = await run(s, ws, 'apply');
    expect(copy.outputs['status']).toBe('failed');
    expect(copy.stdout).toContain('a record copied from another cycle');
    expect(s.log.mutations()).toEqual([]);
    expect(mintedKeys(s).filter((k) => k.id !== key1 && k.active)).toHaveLength(0);
  });

  it('two apply runs that find the policy due at once start one cycle, not two', async () => {
    const { s, ws, c1, key1 } = await policyAfterOneCycle();
    s.thoth.setKeyTimes(key1, { createdAt: new Date(Date.now() - 100 * DAY) });
    const [a, b] = await Promise.all([run(s, ws, 'apply'), run(s, ws, 'apply')]);
    for (const r of [a, b]) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([a, b].map((r) => r.outputs['status']).sort()).toEqual(['in-progress', 'in-progress']);
    expect([a, b].filter((r) => r.outputs['key-id'])).toHaveLength(1);
    expect(cycles(s)).toHaveLength(2);
    expect(mintedKeys(s).filter((k) => k.id !== key1)).toHaveLength(1);
    expect(readCycle(s, c1.path).events.at(-1)!.step).toBe('next-cycle');
    expectNoLeaks(s, [...c1.runs, a, b]);
  });
});
