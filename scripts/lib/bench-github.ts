/**
 * GitHub's side of `npm run bench`: how many evidence commits one rotation makes, against the
 * fewest its guarantees allow and against GitHub's secondary limits on content creation; and a
 * fan-out of N parallel applies of different fleets on one evidence branch (the workflow of
 * docs/fan-out.md) with the simulator's branch-head semantics on: every apply must complete,
 * none may stop as busy, and the branch's commits must stay inside the limits.
 */
import { startSimulators, type SimOptions, type Simulators } from '../../sim/index.js';
import {
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
} from '../../sim/runner.js';

/**
 * The fewest evidence commits a rotation's guarantees allow (src/rotation, docs/reliability.md):
 * first apply: claim (before the key is created) · new key id + authorization + sealed snapshot
 * (before the MDM write) · deployment + refresh time + a fresh lease (before a validation that
 * may outlast the claim's lease) · validation + revocation schedule. Old-key apply: revalidation
 * + lease (before the DELETE, so exactly one run revokes) · revocation result.
 */
export const EVIDENCE_COMMITS_MIN = { apply: 4, revokeOld: 2 } as const;
export const EVIDENCE_COMMITS_PER_ROTATION_MIN = EVIDENCE_COMMITS_MIN.apply + EVIDENCE_COMMITS_MIN.revokeOld;

/**
 * GitHub's secondary limits on content creation (docs.github.com, "Rate limits for the REST
 * API", About secondary rate limits): 80 content-generating requests a minute, 500 an hour.
 * Every contents PUT is one.
 */
export const GITHUB_CONTENT_PER_MINUTE = 80;
export const GITHUB_CONTENT_PER_HOUR = 500;

/** Validation settings of the GitHub runs: short window, generous timeout (8 runs share 2 cores). */
const VALIDATION =
  'validation:\n  window: 2s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 120s\n  pollInterval: 250ms';

export interface RotationCommits {
  readonly firstApply: number;
  readonly revokeOld: number;
  readonly total: number;
  readonly min: number;
  readonly status: string;
}

export interface FanOut {
  readonly fleets: number;
  readonly headWindowMs: number;
  /** Statuses of the first and the second (old-key) round of applies. */
  readonly first: string[];
  readonly second: string[];
  readonly busy: number;
  readonly failed: number;
  /** What GitHub answered: branch-head 409s, stale-file 409s, rate limits. */
  readonly headConflicts: number;
  readonly staleFile: number;
  readonly rateLimited: number;
  readonly commits: number;
  readonly commitsPerRotation: number;
  /** Most commits in any 60 s, and in any hour (the whole run here), on the branch. */
  readonly peakPerMinute: number;
  readonly peakPerHour: number;
  readonly firstMs: number;
  readonly secondMs: number;
}

interface Fleet {
  readonly sims: Simulators;
  readonly ws: Workspace;
  readonly file: string;
}

async function fleet(i: number, latencyMs: number, github?: SimOptions['github']): Promise<Fleet> {
  const id = `flt-bench-${String(i).padStart(2, '0')}`;
  const sims = await startSimulators({
    seed: 100 + i,
    fleet: { size: 20, id },
    latencyMs,
    ...(github ? { github } : {}),
  });
  const ws = makeWorkspace();
  const name = `bench-fanout-${i}`;
  ws.write('.thoth/rotations/bench.yaml', jamfIntent(sims, { name, validation: VALIDATION }));
  return { sims, ws, file: `.thoth/evidence/${id}/${name}.json` };
}

/** One apply of `f`, its evidence kept in `repo`'s GitHub (one branch for every fleet). */
function apply(f: Fleet, repo: Simulators): Promise<ActionRun> {
  return runAction({
    workspace: f.ws,
    inputs: simInputs(f.sims, { mode: 'apply', 'github-token': repo.creds.githubToken }),
    env: simEnv(f.sims, {
      GITHUB_API_URL: repo.urls.github,
      GITHUB_REPOSITORY: `${repo.creds.owner}/${repo.creds.repo}`,
    }),
    timeoutMs: 300_000,
  });
}

const okPuts = (repo: Simulators, file: string, fromSeq = 0): number =>
  repo.log
    .entries()
    .filter(
      (e) =>
        e.seq > fromSeq &&
        e.system === 'github' &&
        e.method === 'PUT' &&
        e.path.endsWith(file) &&
        e.status >= 200 &&
        e.status < 300,
    ).length;

const statusOf = (r: ActionRun): string =>
  r.outputs['status'] ?? (r.signal ? `killed (${r.signal})` : `exit ${r.code}`);

/** Wait until every fleet's old key is due (validatedAt + window). */
async function untilDue(repo: Simulators, files: readonly string[]): Promise<void> {
  const due = files.map((file) => {
    const text = repo.github.file(file);
    const at = text ? (JSON.parse(text) as { validatedAt?: string }).validatedAt : undefined;
    return at ? Date.parse(at) + 2_100 : Date.now();
  });
  const wait = Math.max(0, ...due) - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/** A whole rotation of one fleet (apply, then the apply after the validation window): its commits. */
export async function rotationCommits(latencyMs: number): Promise<RotationCommits> {
  const f = await fleet(0, latencyMs);
  try {
    const first = await apply(f, f.sims);
    const firstApply = okPuts(f.sims, f.file);
    await untilDue(f.sims, [f.file]);
    const mark = f.sims.log.entries().at(-1)?.seq ?? 0;
    const second = await apply(f, f.sims);
    const revokeOld = okPuts(f.sims, f.file, mark);
    return {
      firstApply,
      revokeOld,
      total: firstApply + revokeOld,
      min: EVIDENCE_COMMITS_PER_ROTATION_MIN,
      status: `${statusOf(first)} → ${statusOf(second)}`,
    };
  } finally {
    await f.sims.close();
  }
}

/** Most timestamps inside any window of `windowMs`. */
function peak(times: readonly number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/**
 * `n` fleets, each its own control plane, Jamf and devices, all keeping evidence on one GitHub
 * branch whose PUTs hold the head for `headWindowMs` (GitHub's secondary limits on): all apply
 * at once, then, after the validation window, all revoke their old keys at once.
 */
export async function fanOut(n: number, latencyMs: number, headWindowMs: number): Promise<FanOut> {
  const fleets: Fleet[] = [];
  try {
    fleets.push(await fleet(0, latencyMs, { limits: { headWindowMs } }));
    const repo = fleets[0]!.sims;
    for (let i = 1; i < n; i++) fleets.push(await fleet(i, latencyMs));
    const t0 = Date.now();
    const first = await Promise.all(fleets.map((f) => apply(f, repo)));
    const firstMs = Date.now() - t0;
    await untilDue(
      repo,
      fleets.map((f) => f.file),
    );
    const t1 = Date.now();
    const second = await Promise.all(fleets.map((f) => apply(f, repo)));
    const secondMs = Date.now() - t1;
    const statuses = [...first, ...second].map(statusOf);
    const created = repo.github.contentCreatedAt();
    const commits = fleets.reduce((a, f) => a + okPuts(repo, f.file), 0);
    return {
      fleets: n,
      headWindowMs,
      first: first.map(statusOf),
      second: second.map(statusOf),
      busy: statuses.filter((s) => s === 'busy').length,
      failed: statuses.filter((s) => s !== 'in-progress' && s !== 'completed').length,
      headConflicts: repo.github.stats.headConflicts,
      staleFile: repo.github.stats.staleFile,
      rateLimited: repo.github.stats.rateLimited,
      commits,
      commitsPerRotation: commits / n,
      peakPerMinute: peak(created, 60_000),
      peakPerHour: peak(created, 3_600_000),
      firstMs,
      secondMs,
    };
  } finally {
    await Promise.all(fleets.map((f) => f.sims.close()));
  }
}

export interface GithubVerdict {
  readonly lines: string[];
  readonly met: boolean;
}

/** The targets: the fewest commits the guarantees allow; a fan-out that completes inside GitHub's limits. */
export function judgeGithub(r: RotationCommits | undefined, f: FanOut | undefined): GithubVerdict {
  const lines: string[] = [];
  if (r && r.total > r.min)
    lines.push(`evidence commits per rotation ${r.total} > ${r.min} (the fewest the guarantees allow)`);
  if (r && r.status !== 'in-progress → completed') lines.push(`rotation ended ${r.status}`);
  if (f) {
    if (f.busy > 0) lines.push(`fan-out: ${f.busy} apply run(s) stopped as busy`);
    if (f.failed > 0)
      lines.push(`fan-out: ${f.failed} apply run(s) did not complete (${[...f.first, ...f.second].join(', ')})`);
    if (f.staleFile > 0) lines.push(`fan-out: ${f.staleFile} write(s) lost a race for their own file`);
    if (f.rateLimited > 0 || f.peakPerMinute > GITHUB_CONTENT_PER_MINUTE || f.peakPerHour > GITHUB_CONTENT_PER_HOUR) {
      lines.push(
        `fan-out: ${f.peakPerMinute} commits in a minute / ${f.peakPerHour} in an hour (limits ${GITHUB_CONTENT_PER_MINUTE} / ${GITHUB_CONTENT_PER_HOUR}), ${f.rateLimited} rate-limited`,
      );
    }
  }
  return { lines, met: lines.length === 0 };
}

const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)}%`;

export function githubReport(r: RotationCommits | undefined, f: FanOut | undefined): string[] {
  const out: string[] = [];
  if (r) {
    out.push(
      `evidence commits per rotation: ${r.total} (first apply ${r.firstApply}, old-key apply ${r.revokeOld}; fewest the guarantees allow ${r.min}, ${(r.total / r.min).toFixed(2)}×) · ${r.status}`,
    );
    out.push(
      `  GitHub budget: ${r.total}/${GITHUB_CONTENT_PER_MINUTE} a minute (${pct(r.total, GITHUB_CONTENT_PER_MINUTE)}), ${r.total}/${GITHUB_CONTENT_PER_HOUR} an hour (${pct(r.total, GITHUB_CONTENT_PER_HOUR)}): ` +
        `at most ${Math.floor(GITHUB_CONTENT_PER_MINUTE / r.firstApply)} first applies a minute, ${Math.floor(GITHUB_CONTENT_PER_HOUR / r.total)} whole rotations an hour per token`,
    );
  }
  if (f) {
    out.push(
      `fan-out: ${f.fleets} fleets on one branch (PUT holds the head ${f.headWindowMs} ms): first round ${f.first.filter((s) => s === 'in-progress').length}/${f.fleets} in-progress in ${(f.firstMs / 1000).toFixed(1)} s, ` +
        `second round ${f.second.filter((s) => s === 'completed').length}/${f.fleets} completed in ${(f.secondMs / 1000).toFixed(1)} s; busy ${f.busy}`,
    );
    out.push(
      `  GitHub saw ${f.headConflicts} branch-head 409(s) (retried), ${f.staleFile} stale-file 409(s), ${f.rateLimited} rate limit(s); ${f.commits} commits (${f.commitsPerRotation.toFixed(1)} per rotation), ` +
        `peak ${f.peakPerMinute} in a minute (${pct(f.peakPerMinute, GITHUB_CONTENT_PER_MINUTE)} of ${GITHUB_CONTENT_PER_MINUTE}), ${f.peakPerHour} in the hour (${pct(f.peakPerHour, GITHUB_CONTENT_PER_HOUR)} of ${GITHUB_CONTENT_PER_HOUR})`,
    );
  }
  return out;
}

export function githubMarkdown(r: RotationCommits | undefined, f: FanOut | undefined): string {
  const out = ['| GitHub | measured | target / limit | ratio |', '|---|---:|---:|---:|'];
  if (r) {
    out.push(
      `| evidence commits per rotation (first apply + old-key apply) | ${r.total} (${r.firstApply} + ${r.revokeOld}) | ${r.min} (fewest the guarantees allow) | ${(r.total / r.min).toFixed(2)}× |`,
    );
    out.push(
      `| one rotation's share of the content budget | ${r.total} | ${GITHUB_CONTENT_PER_MINUTE} / min · ${GITHUB_CONTENT_PER_HOUR} / h | ${pct(r.total, GITHUB_CONTENT_PER_MINUTE)} · ${pct(r.total, GITHUB_CONTENT_PER_HOUR)} |`,
    );
  }
  if (f) {
    out.push(
      `| fan-out: ${f.fleets} parallel applies on one branch, completed / busy | ${f.fleets * 2 - f.failed} / ${f.busy} | ${f.fleets * 2} / 0 | |`,
    );
    out.push(`| fan-out: branch-head 409s retried · stale-file 409s | ${f.headConflicts} · ${f.staleFile} | · 0 | |`);
    out.push(
      `| fan-out: peak commits a minute · in the hour | ${f.peakPerMinute} · ${f.peakPerHour} | ${GITHUB_CONTENT_PER_MINUTE} · ${GITHUB_CONTENT_PER_HOUR} | ${pct(f.peakPerMinute, GITHUB_CONTENT_PER_MINUTE)} · ${pct(f.peakPerHour, GITHUB_CONTENT_PER_HOUR)} |`,
    );
  }
  return out.join('\n');
}
