/**
 * Renders the reliability table from a full run's reports:
 *
 *   npm run test:faults            # THOTH_FAULTS=full: writes .tmp/faults/{matrix,crash}.json
 *   npx tsx test/faults/report.ts  # writes .tmp/faults/reliability.md (paste into docs/reliability.md)
 *
 * CI never writes docs: the JSON is only written under THOTH_FAULTS=full.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { KIND_DOC, KINDS, PHASE_DOC, ROOT, type CaseResult } from './lib.js';

interface Report {
  generated: string;
  wallMs: number;
  results: CaseResult[];
  points: unknown[];
}

const dir = path.join(ROOT, '.tmp/faults');
const read = (f: string): Report | undefined =>
  existsSync(path.join(dir, f)) ? (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Report) : undefined;
const matrix = read('matrix.json');
const crash = read('crash.json');
if (!matrix && !crash) throw new Error(`no report in ${dir}: run npm run test:faults first`);

/** What a clean run of each path reports: a faulted run that reports the same absorbed its fault. */
const CLEAN: Record<string, string> = { apply: 'in-progress', 'apply-revoke-old': 'completed', revoke: 'revoked' };
const mins = (ms: number) => `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
const esc = (s: string) => s.replace(/\|/g, '\\|');
const out: string[] = [];

if (matrix) {
  const byPoint = new Map<string, Map<string, CaseResult>>();
  for (const r of matrix.results) {
    if (!byPoint.has(r.point)) byPoint.set(r.point, new Map());
    byPoint.get(r.point)!.set(r.kind, r);
  }
  const points = [...byPoint.keys()];
  const survived = matrix.results.filter((r) => r.survived).length;
  const systems = (phase: string) => {
    const ps = points.filter((p) => p.startsWith(`${phase} / `));
    const count = (sys: string) => ps.filter((p) => p.split(' / ')[2]!.startsWith(`${sys} `)).length;
    return `${ps.length} (thoth ${count('thoth')}, jamf ${count('jamf')}, github ${count('github')})`;
  };
  out.push('## Fault matrix');
  out.push('');
  out.push(
    `Generated ${matrix.generated} by \`npm run test:faults\` (wall time ${mins(matrix.wallMs)} on 2 cores, 3 cases at a time).`,
  );
  out.push('');
  out.push(
    `**${points.length} fault points × ${KINDS.length} fault kinds = ${matrix.results.length} cases; ${survived} survived${survived === matrix.results.length ? ' (all)' : `, ${matrix.results.length - survived} did not`}.**`,
  );
  out.push('');
  out.push('| path | fault points (requests) |');
  out.push('|---|---|');
  for (const phase of Object.keys(PHASE_DOC))
    out.push(`| ${PHASE_DOC[phase as keyof typeof PHASE_DOC]} | ${systems(phase)} |`);
  out.push('');
  out.push('Fault kinds:');
  out.push('');
  for (const k of KINDS) out.push(`- \`${k}\`: ${KIND_DOC[k]}`);
  out.push('');
  out.push(
    'A fault point is `path / runbook segment / system METHOD path`; the segment is `start` or `cN:step`, the N-th evidence commit of a clean run and the last step it recorded, so the same call made at two places of the runbook is two points. A cell reads `yes` (all invariants held after every run, and re-running with the fault gone reached `completed`, or `revoked` for the revoke path) followed by how the faulted run itself ended: `absorbed` (retries hid the fault: the run ended as a clean one does) or `stopped: <status> @ <evidence state>` (the run gave up safely and a later run finished the job); `no` cells name what broke.',
  );
  out.push('');
  out.push(
    'Reproduce one row (all kinds): `THOTH_FAULTS=full npx vitest run test/faults/matrix.test.ts -t "<fault point>"`; one cell: append ` / <kind>` to the pattern.',
  );
  out.push('');
  out.push(`| fault point | ${KINDS.map((k) => `\`${k}\``).join(' | ')} |`);
  out.push(`|---|${KINDS.map(() => '---').join('|')}|`);
  for (const p of points) {
    const cells = KINDS.map((k) => {
      const r = byPoint.get(p)!.get(k);
      if (!r) return '—';
      const [status, state] = r.faultedRun.split('/');
      const absorbed = status === CLEAN[r.phase];
      const how = absorbed ? 'absorbed' : `stopped: ${status} @ ${state}`;
      return r.survived
        ? `yes (${how})`
        : `**no** (${how}): ${esc(r.problems[0]?.split('\n')[0] ?? '?').slice(0, 120)}`;
    });
    out.push(`| \`${esc(p)}\` | ${cells.join(' | ')} |`);
  }
  out.push('');
}

if (crash) {
  const survived = crash.results.filter((r) => r.survived).length;
  out.push('## Crash-resume');
  out.push('');
  out.push(`Generated ${crash.generated} by \`npm run test:faults\` (wall time ${mins(crash.wallMs)}).`);
  out.push('');
  out.push(
    `**${crash.points.length} kill points × 2 resume modes = ${crash.results.length} cases; ${survived} survived${survived === crash.results.length ? ' (all)' : ''}.**`,
  );
  out.push('');
  out.push(
    "Kill points: `line` = SIGKILL on the first stdout line announcing work without a commit (`next step`, first validation / revocation poll) and on the k-th `evidence: state` line (every state boundary); `in-flight` = SIGKILL while the k-th mutating request is held by the server *after* it took effect. Resume: `re-run` = same workflow run, next attempt; `new-run` = another run: it must not mutate anything while the killed run's lease is valid, then (the lease moved into the past instead of waiting validation.timeout + 15 min) it takes over. The trail shows each run as `status/evidence state`, then recovery steps the evidence recorded.",
  );
  out.push('');
  out.push(
    'Reproduce: `THOTH_FAULTS=full npx vitest run test/faults/crash-resume.test.ts -t "<kill point> / <resume>"`.',
  );
  out.push('');
  out.push('| kill point | resume | survived | trail |');
  out.push('|---|---|---|---|');
  for (const r of crash.results.slice().sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`| \`${esc(r.point)}\` | ${r.kind} | ${r.survived ? 'yes' : '**no**'} | ${esc(r.trail.join(' → '))} |`);
  }
  out.push('');
}

const file = path.join(dir, 'reliability.md');
writeFileSync(file, `${out.join('\n')}\n`);
console.log(`wrote ${path.relative(ROOT, file)}`);
