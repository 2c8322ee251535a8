/**
 * GitHub's own limits, end to end through the bundle (issue 12, item 5; spec action.md §6):
 * parallel applies of different fleets on one evidence branch (the fan-out matrix) collide on
 * the branch head and must all complete; a secondary rate limit is waited out; one longer than
 * a run waits stops the run with the fleet on a valid key, and the re-run resumes; a record over
 * 1 MB is read with the raw media type; a file that really moved still means "busy".
 * Judged from what the simulators saw (GitHub's answers, the branch, keys, profiles).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readMobileconfig, startSimulators, type Simulators } from '../../sim/index.js';
import {
  appendEvent,
  parseRecord,
  serializeRecord,
  verifyChain,
  type EvidenceRecord,
} from '../../src/evidence/record.js';
import { amendEvidence, evidencePath, mintedKeys, readEvidence } from './evidence.js';
import { jamfIntent, makeWorkspace, runAction, simEnv, simInputs, type ActionRun, type Workspace } from './harness.js';
import { evidenceIn } from '../setup/oracle.js';

const started: Simulators[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

async function sims(o: Parameters<typeof startSimulators>[0] = {}): Promise<Simulators> {
  const s = await startSimulators({ fleet: { size: 5 }, ...o });
  started.push(s);
  return s;
}

/** A workspace with one Jamf intent for `s` (validation window 2 s). */
function workspace(s: Simulators): Workspace {
  const ws = makeWorkspace();
  ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s));
  return ws;
}

/** `apply` for fleet `s`, keeping evidence in `repo`'s GitHub (one branch for several fleets). */
function apply(
  s: Simulators,
  ws: Workspace,
  repo: Simulators = s,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  if (repo !== s) evidenceIn(s, repo);
  return runAction({
    workspace: ws,
    inputs: simInputs(s, { mode: 'apply', 'github-token': repo.creds.githubToken }),
    env: simEnv(s, {
      GITHUB_API_URL: repo.urls.github,
      GITHUB_REPOSITORY: `${repo.creds.owner}/${repo.creds.repo}`,
      ...env,
    }),
  });
}

/** Fleet `s`'s record as committed on `repo`'s branch, its chain checked. */
function recordIn(repo: Simulators, s: Simulators): EvidenceRecord {
  const file = evidencePath(s);
  const r = parseRecord(repo.github.file(file, 'main')!, file);
  expect(verifyChain(r)).toEqual({ ok: true });
  return r;
}

const deliveredKey = (s: Simulators): string | undefined => readMobileconfig(s.jamf.currentPayloads())?.keyId;
const putsTo = (repo: Simulators, file: string) =>
  repo.log.entries().filter((e) => e.system === 'github' && e.method === 'PUT' && e.path.endsWith(file));
const commitsTo = (repo: Simulators, file: string) => repo.github.commits('main').filter((c) => c.path === file);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GitHub limits (bundled action against the simulators)', () => {
  it('parallel applies of two fleets on one branch: branch-head 409s are retried, both rotations complete, none stops as busy', async () => {
    // A wide in-flight window so the two runs' commits overlap, and forced head moves on top.
    const a = await sims({ github: { limits: { headWindowMs: 150 } } });
    const b = await sims({ seed: 2, fleet: { size: 5, id: 'flt-eng-macos' } });
    const [wsA, wsB] = [workspace(a), workspace(b)];
    a.github.injectHeadMoves(4);

    const first = await Promise.all([apply(a, wsA), apply(b, wsB, a)]);
    for (const r of first) {
      expect(r.code, r.stdout).toBe(0);
      expect(r.outputs['status']).toBe('in-progress');
    }
    expect(a.github.stats.headConflicts).toBeGreaterThanOrEqual(4);
    // Every conflict was the branch's, none the files': nobody lost a race.
    expect(a.github.stats.staleFile).toBe(0);
    expect(b.log.entries().filter((e) => e.system === 'github')).toEqual([]);
    for (const s of [a, b]) {
      const rec = recordIn(a, s);
      expect(rec.state).toBe('awaiting-revocation');
      expect(deliveredKey(s)).toBe(rec.newKey!.keyId);
      expect(mintedKeys(s).filter((k) => k.active)).toHaveLength(1);
      expect(commitsTo(a, evidencePath(s))).toHaveLength(4);
    }

    // After the validation window both finish, again in parallel.
    await sleep(Math.max(0, ...[a, b].map((s) => Date.parse(recordIn(a, s).validatedAt!) + 2_100 - Date.now())));
    a.github.injectHeadMoves(2);
    const second = await Promise.all([apply(a, wsA), apply(b, wsB, a)]);
    for (const [i, s] of [a, b].entries()) {
      expect(second[i]!.code, second[i]!.stdout).toBe(0);
      expect(second[i]!.outputs['status']).toBe('completed');
      expect(recordIn(a, s).state).toBe('completed');
      expect(s.thoth.key(s.ids.oldKeyId)?.active).toBe(false);
      // A whole rotation: 4 commits in the first apply, 2 when the old key is revoked.
      expect(commitsTo(a, evidencePath(s))).toHaveLength(6);
    }
    expect(a.github.stats.staleFile).toBe(0);
    // The other writer's commits are still on the branch: retries never overwrote anything.
    expect(a.github.paths()).toContain('.thoth/concurrent-writer.txt');
  });

  it('a secondary rate limit (403 + retry-after, then 429 + x-ratelimit-reset) is waited out and the rotation completes', async () => {
    const s = await sims({ github: { limits: { contentBudgets: [{ limit: 2, windowMs: 3_000 }] } } });
    const ws = workspace(s);
    const first = await apply(s, ws);
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs['status']).toBe('in-progress');
    const limited = s.log.entries().filter((e) => e.system === 'github' && e.status === 403);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(first.stdout).toMatch(/secondary rate limit on PUT .* waiting \d+ s as GitHub asks \(retry-after\)/);
    // Every limited PUT was sent again only after GitHub's retry-after (whole seconds, ≥ 1), and went through.
    const file = evidencePath(s);
    expect(putsTo(s, file).filter((e) => e.status >= 200 && e.status < 300)).toHaveLength(4);
    for (const l of limited) {
      const next = putsTo(s, file).find((e) => e.seq > l.seq);
      expect(next!.at - l.at).toBeGreaterThanOrEqual(950);
    }
    expect(readEvidence(s)!.state).toBe('awaiting-revocation');

    s.github.setLimits({ limitStyle: 'reset', contentBudgets: [{ limit: 1, windowMs: 3_000 }] });
    await sleep(Math.max(0, Date.parse(readEvidence(s)!.validatedAt!) + 3_100 - Date.now()));
    const second = await apply(s, ws);
    expect(second.code, second.stdout).toBe(0);
    expect(second.outputs['status']).toBe('completed');
    expect(s.log.entries().filter((e) => e.system === 'github' && e.status === 429).length).toBeGreaterThanOrEqual(1);
    expect(second.stdout).toMatch(/waiting \d+ s as GitHub asks \(x-ratelimit-reset\)/);
    expect(s.thoth.key(s.ids.oldKeyId)?.active).toBe(false);
    expect(readEvidence(s)!.state).toBe('completed');
  });

  it('a limit longer than a run waits stops the run mid-rotation with the fleet on a valid key; the re-run resumes', async () => {
    // Two commits this hour: the claim and the key's record pass, the commit after the MDM write does not.
    const s = await sims({ github: { limits: { contentBudgets: [{ limit: 2, windowMs: 3_600_000 }] } } });
    const ws = workspace(s);
    const env = { GITHUB_RUN_ID: '4242' };
    const run = await apply(s, ws, s, env);
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(run.stdout).toMatch(
      /secondary rate limit .*GitHub takes requests again at \d{4}-\d\d-\d\dT.*re-run after that time/,
    );
    // Nothing was waited for: GitHub asked for about an hour.
    expect(run.stdout).not.toMatch(/waiting \d+ s as GitHub asks/);
    // The fleet holds a valid key: the new one is delivered and active, the old one too.
    const rec = readEvidence(s)!;
    expect(rec.state).toBe('authorized');
    const newKey = rec.newKey!.keyId;
    expect(deliveredKey(s)).toBe(newKey);
    expect(s.thoth.key(newKey)?.active).toBe(true);
    expect(s.thoth.key(s.ids.oldKeyId)?.active).toBe(true);

    // An hour later the job is re-run: it takes over its own lease and finishes from the MDM's state.
    s.github.resetBudgets();
    s.github.setLimits({ contentBudgets: [] });
    // (And past the simulated Jamf replication lag, as an hour is: the re-run reads the profile it wrote.)
    await sleep(1_200);
    const again = await apply(s, ws, s, { ...env, GITHUB_RUN_ATTEMPT: '2' });
    expect(again.code, again.stdout).toBe(0);
    expect(again.outputs['status']).toBe('in-progress');
    const after = readEvidence(s)!;
    expect(after.state).toBe('awaiting-revocation');
    expect(after.newKey!.keyId).toBe(newKey);
    expect(after.events.some((e) => e.step === 'reconcile')).toBe(true);
    expect(mintedKeys(s)).toHaveLength(1);
  });

  it('an evidence record over 1 MB is read with the raw media type and the rotation finishes', async () => {
    const s = await sims();
    const ws = workspace(s);
    expect((await apply(s, ws)).outputs['status']).toBe('in-progress');
    // A long-running rotation: many recorded events push the record past 1 MB.
    const file = evidencePath(s);
    let r = parseRecord(s.github.file(file)!, file);
    const run = { id: 'observer', attempt: 1, actor: 'octo-secops', sha: '0'.repeat(40) };
    // The size is checked every 100 events (~100 KB): after each one, the loop was quadratic (1.4 s).
    for (let i = 0; serializeRecord(r).length < 1_200_000; ) {
      for (const end = i + 100; i < end; i++) {
        r = appendEvent(r, {
          at: new Date().toISOString(),
          step: 'identity-drift',
          outcome: 'info',
          detail: `observation ${i}: ${'x'.repeat(900)}`,
          run,
        });
      }
    }
    s.github.putFile(file, serializeRecord(r));
    await sleep(Math.max(0, Date.parse(r.validatedAt!) + 2_100 - Date.now()));
    const before = { ...s.github.stats };
    const done = await apply(s, ws);
    expect(done.code, done.stdout).toBe(0);
    expect(done.outputs['status']).toBe('completed');
    expect(s.github.stats.contentOmitted).toBeGreaterThan(before.contentOmitted);
    expect(s.github.stats.rawReads).toBeGreaterThan(before.rawReads);
    expect(
      s.log
        .entries()
        .some(
          (e) =>
            e.system === 'github' && e.method === 'GET' && e.headers['accept'] === 'application/vnd.github.raw+json',
        ),
    ).toBe(true);
    const final = readEvidence(s)!;
    expect(final.state).toBe('completed');
    const observations = (rec: EvidenceRecord) => rec.events.filter((e) => e.detail.startsWith('observation ')).length;
    expect(observations(final)).toBe(observations(r));
    expect(s.thoth.key(s.ids.oldKeyId)?.active).toBe(false);
  });

  it('a file that really moved under a PUT is still a lost race: busy, no retry, nothing overwritten', async () => {
    const s = await sims();
    const ws = workspace(s);
    const file = evidencePath(s);
    let puts = 0;
    // Another run takes the rotation over while this run's third commit (after the MDM write) is in flight.
    s.github.beforeRefUpdate = ({ path }) => {
      if (path !== file || ++puts !== 3) return;
      amendEvidence(
        s,
        file,
        (r) => ({
          ...r,
          lease: {
            run: { id: '999', attempt: 1, actor: 'other', sha: '1'.repeat(40) },
            until: new Date(Date.now() + 3_600_000).toISOString(),
          },
        }),
        { note: 'other-run-took-over' },
      );
    };
    const run = await apply(s, ws);
    // Busy is green and shows as in-progress (outputs.ts); the summary says why.
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['status']).toBe('in-progress');
    expect(run.stdout).toMatch(/another run advanced this rotation at the same time; leaving it to that run/);
    const answers = putsTo(s, file).map((e) => e.status);
    expect(answers.slice(2)).toEqual([409]);
    expect(s.github.stats.headConflicts).toBe(1);
    const rec = readEvidence(s)!;
    expect(rec.events.at(-1)?.detail).toMatch(/other-run-took-over/);
    expect(rec.lease?.run.id).toBe('999');
    // The key this run deployed stays valid: the run that owns the rotation now decides.
    expect(s.thoth.key(deliveredKey(s)!)?.active).toBe(true);
  });
});
