/**
 * Crash-resume (issue #6, item 2). The bundled action is SIGKILLed at every point a clean
 * run passes through, then resumed; the invariants of spec §7 must hold right after the
 * crash and after every resumed run, and the rotation must still reach its end state.
 *
 * Kill points, enumerated from a clean run of each path (so new steps are picked up):
 * - `line`: on the k-th `evidence: state …` line (every state boundary: the commit landed,
 *   the journal printed its `[name] step:` lines and the state line in the same tick), and on
 *   the first line announcing work that has no commit of its own (`next step:`, the first
 *   validation / revocation poll) — the middle of a step;
 * - `in-flight`: while the k-th mutating request (key create/delete, profile PUT, blank push,
 *   evidence commit) is held by the server *after* it took effect — the process dies without
 *   ever learning that its change happened.
 *
 * Resume modes:
 * - `re-run`: the same workflow run, next attempt (GITHUB_RUN_ATTEMPT+1), as "Re-run jobs"
 *   does: a lease held by an earlier attempt of the same run does not block it;
 * - `new-run`: another workflow run (a later push or schedule). While the killed run's lease
 *   is valid it must do nothing (`busy`, no mutation). The lease lasts validation.timeout +
 *   15 min; rather than wait, the test moves `lease.until` into the past in the committed
 *   record (the chain covers events only, so it still verifies), then the new run takes over.
 *
 * Default (CI): every kill point, resume modes alternating. THOTH_FAULTS=full: both modes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { amendEvidence } from '../e2e/evidence.js';
import {
  FULL,
  NAME,
  PHASES,
  caseThrew,
  checkAlways,
  checkNoOrphan,
  checkRevoked,
  cleanRun,
  evidence,
  freshRunId,
  limiter,
  normalisePath,
  prepare,
  recover,
  runKillable,
  runPhase,
  safeEvidence,
  startCase,
  writeReport,
  type Case,
  type CaseResult,
  type LogEntry,
  type Phase,
} from './lib.js';

const started = Date.now();

type Resume = 're-run' | 'new-run';
interface KillPoint {
  readonly phase: Phase;
  readonly kind: 'line' | 'in-flight';
  readonly id: string;
  /** line: pattern and occurrence */
  readonly pattern?: RegExp;
  readonly count?: number;
  /** in-flight: the request */
  readonly req?: { system: LogEntry['system']; method: string; path: string; nth: number };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function killPoints(phase: Phase, stdout: string, mutations: readonly LogEntry[]): KillPoint[] {
  const out: KillPoint[] = [];
  const lines = stdout.split('\n');
  // Mid-step announcements (no commit of their own).
  for (const [label, re] of [
    ['next step', /^next step: /],
    ['validation poll', /^validation poll 1: /],
    ['revocation poll', /^revocation poll: /],
  ] as const) {
    if (lines.some((l) => re.test(l)))
      out.push({
        phase,
        kind: 'line',
        id: `${phase} / line / ${label}`,
        pattern: new RegExp(re.source, 'm'),
        count: 1,
      });
  }
  // Every state boundary (named after the last step the commit recorded).
  let lastStep = '?';
  let k = 0;
  for (const l of lines) {
    const state = / evidence: state (\S+)/.exec(l)?.[1];
    if (state) {
      k++;
      out.push({
        phase,
        kind: 'line',
        id: `${phase} / line / commit ${k} ${lastStep} to ${state}`,
        pattern: / evidence: state /g,
        count: k,
      });
      continue;
    }
    const step = /^\[[^\]]+\] ([\w-]+): /.exec(l)?.[1];
    if (step) lastStep = step;
  }
  // Every mutation, in flight.
  const seen = new Map<string, number>();
  for (const m of mutations) {
    const norm = normalisePath(m.path);
    const call = `${m.system} ${m.method} ${norm}`;
    const nth = (seen.get(call) ?? 0) + 1;
    seen.set(call, nth);
    const short = norm
      .replace(/^\/repos\/[^/]+\/[^/]+\/contents\/.*$/, '/repos/:o/:r/contents/:evidence')
      .replace(/^\/acme\/thoth/, '/:tenant/thoth')
      .replace(/\{(\w+)\}/g, ':$1');
    out.push({
      phase,
      kind: 'in-flight',
      id: `${phase} / in-flight / ${m.system} ${m.method} ${short} n${nth}`,
      req: { system: m.system, method: m.method, path: norm, nth },
    });
  }
  return out;
}

const points: KillPoint[] = [];
for (const phase of PHASES) {
  const clean = await cleanRun(phase);
  points.push(...killPoints(phase, clean.stdout, clean.mutations));
}

const rows: { name: string; point: KillPoint; resume: Resume }[] = [];
points.forEach((p, i) => {
  const modes: Resume[] = FULL ? ['re-run', 'new-run'] : [i % 2 === 0 ? 're-run' : 'new-run'];
  for (const resume of modes) rows.push({ name: `${p.id} / ${resume}`, point: p, resume });
});

const results: CaseResult[] = [];
const limit = limiter(Number(process.env['THOTH_FAULTS_CONCURRENCY'] ?? 3));
afterAll(() => {
  // Only a complete full run writes the report: reproducing one case with -t must not clobber it.
  if (FULL && results.length === rows.length)
    writeReport('crash.json', results, {
      generated: new Date().toISOString(),
      wallMs: Date.now() - started,
      points: points.map((p) => p.id),
    });
});

const pathOf = (phase: Phase): 'apply' | 'revoke' => (phase === 'revoke' ? 'revoke' : 'apply');

function reqRegex(path: string): RegExp {
  return new RegExp(`^${escape(path).replace(/\\\{keyId\\\}|\\\{id\\\}/g, '[^/]+')}$`);
}

/** Kill the action per the point; returns the run id it used. */
async function killAt(c: Case, p: KillPoint): Promise<{ runId: string; signal: string | null }> {
  const runId = freshRunId();
  if (p.kind === 'line') {
    const want = p.count ?? 1;
    const run = await runPhase(c, p.phase, {
      env: { GITHUB_RUN_ID: runId },
      killWhen: (out) => (out.match(new RegExp(p.pattern!.source, 'gm'))?.length ?? 0) >= want,
    });
    return { runId, signal: run.signal };
  }
  const r = p.req!;
  const re = reqRegex(r.path);
  const fromSeq = c.sims.log.entries().at(-1)?.seq ?? 0;
  c.sims.faults.add({
    system: r.system,
    method: r.method,
    path: re,
    nth: r.nth,
    times: 1,
    after: true,
    respond: { hangMs: 10_000 },
  });
  let seenAt = 0;
  const run = await runKillable(c, p.phase, { GITHUB_RUN_ID: runId }, () => {
    const hits = c.sims.log
      .entries()
      .filter((e) => e.seq > fromSeq && e.system === r.system && e.method === r.method && re.test(e.path));
    if (hits.length < r.nth) return false;
    seenAt ||= Date.now();
    return Date.now() - seenAt >= 60; // the handler has run; the answer is held
  });
  c.sims.faults.clear();
  return { runId, signal: run.signal };
}

async function runCase(row: (typeof rows)[number]): Promise<CaseResult> {
  const t0 = Date.now();
  const { point: p, resume } = row;
  const c = await startCase();
  const trail: string[] = [];
  const problems: string[] = [];
  try {
    await prepare(c, p.phase);
    const killed = await killAt(c, p);
    trail.push(`killed (${killed.signal ?? 'not killed'})/${safeEvidence(c.sims)?.state ?? 'none'}`);
    if (killed.signal !== 'SIGKILL')
      problems.push(`the run was not killed (it ended before the kill point): ${c.runs.at(-1)?.outputs['status']}`);
    problems.push(...checkAlways(c, pathOf(p.phase)).map((x) => `right after the kill: ${x}`));

    if (problems.length === 0) {
      if (resume === 're-run') {
        const run = await runPhase(c, p.phase, { env: { GITHUB_RUN_ID: killed.runId, GITHUB_RUN_ATTEMPT: '2' } });
        trail.push(`re-run ${killed.runId}.2→${run.outputs['status']}/${safeEvidence(c.sims)?.state}`);
      } else if (p.phase !== 'revoke') {
        const rec = safeEvidence(c.sims);
        const lease = rec?.lease;
        if (lease) {
          // Within the lease: another run must keep off.
          const before = c.sims.log.mutations().length;
          const run = await runPhase(c, p.phase);
          const mutated = c.sims.log.mutations().slice(before);
          trail.push(`other run within lease→${run.outputs['status']}/${safeEvidence(c.sims)?.state}`);
          if (mutated.length)
            problems.push(
              `a run made ${mutated.length} mutation(s) while run ${lease.run.id} held the lease: ${mutated.map((m) => `${m.method} ${m.path}`).join(', ')}`,
            );
          // The lease runs out (validation.timeout + 15 min): simulate the wait.
          amendEvidence(
            c.sims,
            `.thoth/evidence/${c.sims.ids.fleetId}/${NAME}.json`,
            (r) => ({ ...r, lease: { ...r.lease!, until: new Date(Date.now() - 1000).toISOString() } }),
            { note: 'test-lease-expired' },
          );
          evidence(c.sims); // still verifies
        }
        const run = await runPhase(c, p.phase);
        trail.push(`new run→${run.outputs['status']}/${safeEvidence(c.sims)?.state}`);
      } else {
        const run = await runPhase(c, p.phase);
        trail.push(`new run→${run.outputs['status']}/${safeEvidence(c.sims)?.state}`);
      }
      problems.push(...checkAlways(c, pathOf(p.phase)).map((x) => `after resuming: ${x}`));
    }
    let finalState = safeEvidence(c.sims)?.state as string | undefined;
    if (problems.length === 0) {
      const rec = await recover(c, pathOf(p.phase));
      trail.push(...rec.trail);
      problems.push(...rec.problems);
      finalState = rec.finalState;
      if (problems.length === 0) {
        if (p.phase === 'revoke') {
          if (finalState !== 'revoked') problems.push(`revocation did not complete: ${finalState}`);
          else problems.push(...checkRevoked(c));
        } else if (finalState !== 'completed') problems.push(`rotation did not complete: ${finalState}`);
        problems.push(...checkNoOrphan(c));
      }
    }
    if (problems.length) {
      problems.push(`trail: ${trail.join(' → ')}`);
      c.runs.forEach((r, i) =>
        problems.push(
          `run ${i} (${r.signal ?? r.code}) stdout:\n${r.stdout
            .split('\n')
            .filter((l) => !l.startsWith('::add-mask::'))
            .join('\n')
            .slice(-3000)}`,
        ),
      );
    }
    return {
      suite: 'crash',
      name: row.name,
      phase: p.phase,
      point: p.id,
      kind: resume,
      survived: problems.length === 0,
      fired: true,
      faultedRun: trail[0] ?? '',
      finalState,
      trail,
      problems,
      ms: Date.now() - t0,
    };
  } finally {
    await c.sims.close();
  }
}

describe('crash-resume: enumeration', () => {
  it('has kill points at every state boundary and in flight on every path', () => {
    for (const phase of PHASES) {
      const ps = points.filter((p) => p.phase === phase);
      expect(ps.filter((p) => p.kind === 'line').length, phase).toBeGreaterThan(1);
      expect(ps.filter((p) => p.kind === 'in-flight').length, phase).toBeGreaterThan(0);
    }
    expect(new Set(points.map((p) => p.id)).size).toBe(points.length);
  });
});

describe.concurrent(`crash-resume (${FULL ? 'full' : 'CI subset'}: ${rows.length} cases over ${points.length} kill points)`, () => {
  for (const row of rows) {
    it(row.name, async () => {
      const r = await limit(() => runCase(row)).catch((e: unknown) =>
        caseThrew(
          {
            suite: 'crash',
            name: row.name,
            phase: row.point.phase,
            point: row.point.id,
            kind: row.resume,
            faultedRun: 'error',
          },
          e,
        ),
      );
      results.push(r);
      expect(r.problems, r.problems.join('\n')).toEqual([]);
    }, 300_000);
  }
});
