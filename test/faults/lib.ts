/**
 * Shared machinery of the reliability suites (fault matrix, crash-resume, concurrency):
 * the three paths under test, the enumeration of their external requests from a clean
 * run's request log, the fault kinds, the recovery loop and the invariant checks of
 * spec action.md §7.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMobileconfig, startSimulators, type FaultRule, type LogEntry, type Simulators } from '../../sim/index.js';
import {
  DIST,
  NODE,
  writeWindowsTemplates,
  intuneIntent,
  jamfIntent,
  makeWorkspace,
  parseOutputFile,
  runAction,
  runContext,
  trackRun,
  runnerEnvironment,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
} from '../../sim/runner.js';
import { parseRecord, verifyChain, type EvidenceRecord } from '../../src/evidence/record.js';
import { FAST_SIGNALS } from '../e2e/harness.js';
import { findLeaks } from '../leak-scan.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FULL = process.env['THOTH_FAULTS'] === 'full';
export const NAME = 'corpsec-macos-2026-12';

/**
 * How long a 'hang' holds a request before the simulator drops the connection. The bundle runs with
 * its production timeouts (30 s and more) and backoff (300 ms doubling): no test knob reaches it
 * (issue 14). A request that gets no answer and then loses its connection is what the client sees
 * when a NAT or load balancer drops an idle connection; to the action it is the same outcome
 * as its own timeout (no answer, retryable, the mutation's fate unknown), which
 * test/unit/http-client.test.ts tests with a short client timeout.
 */
export const HANG_MS = 1_500;

/** Short windows: validation passes in about a second and the old key is due one second later. */
export const VALIDATION =
  'validation:\n  window: 1s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms';
export const WINDOW_MS = 1_000;

export type Phase = 'apply' | 'apply-revoke-old' | 'revoke' | 'apply-intune';
export const PHASES: readonly Phase[] = ['apply', 'apply-revoke-old', 'revoke'];
/** The fault matrix also faults the Intune path (Graph, login): the first `apply` of a mixed macOS + Windows fleet. */
export const MATRIX_PHASES: readonly Phase[] = [...PHASES, 'apply-intune'];
export const PHASE_DOC: Record<Phase, string> = {
  'apply-intune':
    'first `apply` through Intune (macOS configuration + Windows remediation, mixed fleet): claim → create → authorize → deploy → refresh → validate → awaiting-revocation',
  apply: 'first `apply`: claim → create → authorize → deploy → refresh → validate → awaiting-revocation',
  'apply-revoke-old': 'second `apply` after the validation window: revalidate → revoke the old key → completed',
  revoke: '`revoke` (workflow_dispatch) of the deployed key and an undeployed key, replace: true',
};

// ---- simulators, workspace, runs ------------------------------------------------------------

export interface Case {
  readonly sims: Simulators;
  readonly ws: Workspace;
  readonly runs: ActionRun[];
  /** Run ids handed out so far (each `apply` is a new workflow run unless told otherwise). */
  nextRunId: number;
}

let runIdSeed = 100_000 + Math.floor(Math.random() * 800_000) * 10;
export function freshRunId(): string {
  return String(++runIdSeed);
}

export async function startCase(phase?: Phase): Promise<Case> {
  const intune = phase === 'apply-intune';
  const fleet = intune ? ({ size: 6, mdm: 'intune', os: 'mixed' } as const) : { size: 5 };
  const sims = await startSimulators({ fleet: { ...fleet, ...FAST_SIGNALS } });
  const ws = makeWorkspace();
  if (intune) {
    writeWindowsTemplates(ws);
    ws.write(
      '.thoth/rotations/corpsec.yaml',
      intuneIntent(sims, { macos: true, windows: true }, { validation: VALIDATION }),
    );
  } else {
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims, { validation: VALIDATION }));
  }
  return { sims, ws, runs: [], nextRunId: 0 };
}

export function revokeKeyIds(s: Simulators): string {
  return `${s.ids.oldKeyId},${s.ids.undeployedKeyId}`;
}

export interface RunOpts {
  readonly env?: Record<string, string>;
  readonly killWhen?: (stdout: string) => boolean;
}

/** The sims' inputs, with the Entra app's when the fleet is managed by Intune. */
function inputsFor(s: Simulators, extra: Record<string, string>): Record<string, string> {
  const azure =
    s.fleet.mdm === 'intune'
      ? {
          'azure-tenant-id': s.creds.azureTenantId,
          'azure-client-id': s.creds.azureClientId,
          'azure-client-secret': s.creds.azureClientSecret,
        }
      : {};
  return simInputs(s, { ...azure, ...extra });
}

export async function apply(c: Case, o: RunOpts = {}): Promise<ActionRun> {
  const run = await runAction({
    workspace: c.ws,
    inputs: inputsFor(c.sims, { mode: 'apply' }),
    env: simEnv(c.sims, { GITHUB_RUN_ID: freshRunId(), ...o.env }),
    timeoutMs: 90_000,
    ...(o.killWhen ? { killWhen: o.killWhen } : {}),
  });
  c.runs.push(run);
  return run;
}

export async function revoke(c: Case, o: RunOpts = {}): Promise<ActionRun> {
  const run = await runAction({
    workspace: c.ws,
    inputs: simInputs(c.sims, {
      mode: 'revoke',
      'key-ids': revokeKeyIds(c.sims),
      reason: 'INC-7: key pasted into a ticket',
    }),
    env: simEnv(c.sims, { GITHUB_EVENT_NAME: 'workflow_dispatch', GITHUB_RUN_ID: freshRunId(), ...o.env }),
    timeoutMs: 90_000,
    ...(o.killWhen ? { killWhen: o.killWhen } : {}),
  });
  c.runs.push(run);
  return run;
}

export function runPhase(c: Case, phase: Phase, o: RunOpts = {}): Promise<ActionRun> {
  return phase === 'revoke' ? revoke(c, o) : apply(c, o);
}

/**
 * Like runAction, but the caller can kill the process at any moment (crash tests that
 * kill while a request is in flight, which no stdout line announces). Recorded in the
 * run ledger so the global leak guard scans it too.
 */
export async function runKillable(
  c: Case,
  phase: Phase,
  env: Record<string, string>,
  killIf: () => boolean,
): Promise<ActionRun> {
  const { outputFile, summaryFile, env: base } = runnerEnvironment(c.ws.dir);
  const inputs =
    phase === 'revoke'
      ? simInputs(c.sims, {
          mode: 'revoke',
          'key-ids': revokeKeyIds(c.sims),
          reason: 'INC-7: key pasted into a ticket',
        })
      : inputsFor(c.sims, { mode: 'apply' });
  const full: Record<string, string> = {
    ...base,
    GITHUB_EVENT_NAME: phase === 'revoke' ? 'workflow_dispatch' : 'push',
    ...simEnv(c.sims, { GITHUB_RUN_ID: freshRunId() }),
    ...env,
  };
  for (const [k, v] of Object.entries(inputs)) full[`INPUT_${k.toUpperCase()}`] = v;
  const from = Date.now();
  const done = trackRun(full['GITHUB_API_URL'] ?? '');
  const run = await new Promise<ActionRun>((resolve, reject) => {
    const child: ChildProcess = spawn(NODE, [DIST], { env: full, cwd: c.ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const hardStop = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const poll = setInterval(() => {
      if (killIf()) child.kill('SIGKILL');
    }, 5);
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hardStop);
      clearInterval(poll);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
        context: runContext(inputs, full, from),
      });
    });
  });
  done(run);
  c.runs.push(run);
  return run;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- evidence ---------------------------------------------------------------------------------

export function evidenceText(s: Simulators): string | undefined {
  return s.github.file(`.thoth/evidence/${s.ids.fleetId}/${NAME}.json`, 'main');
}

/** The committed record, parsed, with its hash chain verified (throws otherwise). */
export function evidence(s: Simulators): EvidenceRecord | undefined {
  const text = evidenceText(s);
  if (text === undefined) return undefined;
  const r = parseRecord(text, 'evidence');
  const chain = verifyChain(r);
  if (!chain.ok) throw new Error(`evidence hash chain broken at event ${chain.index}: ${chain.problem}`);
  return r;
}

/** Keys minted during the test (everything but the simulators' seed keys). */
export function minted(s: Simulators): ReturnType<Simulators['thoth']['keys']> {
  const seed = new Set([s.ids.oldKeyId, s.ids.undeployedKeyId, s.ids.otherTenantKeyId]);
  return s.thoth.keys().filter((k) => !seed.has(k.id));
}

export function delivered(s: Simulators): { apiKey: string; keyId: string; revoked: string[] } {
  const cfg = readMobileconfig(s.fleet.mdm === 'intune' ? s.graph.configVersions().at(-1)! : s.jamf.currentPayloads());
  if (!cfg) throw new Error('the current Jamf profile carries no Thoth settings');
  return cfg;
}

// ---- request enumeration ------------------------------------------------------------------------

/** Path with ids replaced by placeholders, so one call site is one fault point whatever the ids. */
export function normalisePath(p: string): string {
  return p
    .replace(/\/key_[A-Za-z0-9]+/g, '/{keyId}')
    .replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=\/|$)/gi, '/{id}')
    .replace(/\/id\/\d+/g, '/id/{id}')
    .replace(/\/smart-group-membership\/\d+/g, '/smart-group-membership/{id}');
}

function pathRegex(norm: string): RegExp {
  const esc = norm.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{keyId\\\}|\\\{id\\\}/g, '[^/]+');
  return new RegExp(`^${esc}$`);
}

export interface FaultPoint {
  readonly phase: Phase;
  readonly system: 'thoth' | 'jamf' | 'github' | 'graph' | 'login';
  readonly method: string;
  readonly path: string;
  /** 1-based index of this request among the run's requests to the same method + path. */
  readonly nth: number;
  /** Evidence commits that preceded it in the clean run, and the last one's steps: where in the runbook it sits. */
  readonly after: string;
  readonly mutation: boolean;
  /** Stable id, used in test names and the reliability table. */
  readonly id: string;
}

/**
 * One fault point per distinct call site: method + normalised path, per segment of the
 * runbook (the stretch between two evidence commits). Repeats inside a segment (polls,
 * one authorize per permission) collapse into their first occurrence; a persistent fault
 * on it hits the repeats too.
 */
export function enumerate(phase: Phase, log: readonly LogEntry[]): FaultPoint[] {
  const seen = new Map<string, number>();
  const points: FaultPoint[] = [];
  const inSegment = new Set<string>();
  let commits = 0;
  let segment = 'start';
  for (const e of log) {
    const norm = normalisePath(e.path);
    const call = `${e.system} ${e.method} ${norm}`;
    const nth = (seen.get(call) ?? 0) + 1;
    seen.set(call, nth);
    if (!inSegment.has(call)) {
      inSegment.add(call);
      const mutation = isMutation(e);
      points.push({
        phase,
        system: e.system,
        method: e.method,
        path: norm,
        nth,
        after: segment,
        mutation,
        id: `${phase} / ${segment} / ${e.system} ${e.method} ${shortPath(norm)}`,
      });
    }
    if (e.system === 'github' && e.method === 'PUT' && e.status >= 200 && e.status < 300) {
      commits++;
      const msg = /"message":"([^"]*)"/.exec(e.bodyText ?? '')?.[1] ?? '';
      const steps = /\(([^)]*)\)$/.exec(msg)?.[1]?.split(', ') ?? [];
      segment = `c${commits}:${steps.at(-1) ?? '?'}`;
      inSegment.clear();
    }
  }
  return points;
}

function isMutation(e: LogEntry): boolean {
  return (
    (e.system === 'thoth' && ((e.method === 'POST' && /\/api-keys$/.test(e.path)) || e.method === 'DELETE')) ||
    (e.system === 'jamf' &&
      ((e.method === 'PUT' && /osxconfigurationprofiles/.test(e.path)) || /blank-push/.test(e.path))) ||
    (e.system === 'github' && e.method === 'PUT') ||
    (e.system === 'graph' && (e.method === 'PATCH' || (/syncDevice|\$batch/.test(e.path) && e.method === 'POST')))
  );
}

/** Short, regex-inert form for test names (`-t` takes a pattern): no braces, pipes or parentheses. */
function shortPath(p: string): string {
  return p
    .replace(/^\/repos\/[^/]+\/[^/]+\/contents\/.*$/, '/repos/:o/:r/contents/:evidence')
    .replace(/^\/repos\/[^/]+\/[^/]+$/, '/repos/:o/:r')
    .replace(/^\/acme\/thoth/, '/:tenant/thoth')
    .replace(/\{(\w+)\}/g, ':$1')
    .replace(/\$batch/g, 'batch');
}

// ---- fault kinds --------------------------------------------------------------------------------

export type FaultKind =
  | '5xx-persistent'
  | '5xx-once'
  | '429-retry-after'
  | '429-no-retry-after'
  | 'reset'
  | 'lost-response'
  | 'hang';
export const KINDS: readonly FaultKind[] = [
  '5xx-persistent',
  '5xx-once',
  '429-retry-after',
  '429-no-retry-after',
  'reset',
  'lost-response',
  'hang',
];
export const KIND_DOC: Record<FaultKind, string> = {
  '5xx-persistent': 'HTTP 503 on this request and every later one to the same call (outage)',
  '5xx-once': 'one HTTP 502 (transient)',
  '429-retry-after': 'two HTTP 429 with `Retry-After: 1`',
  '429-no-retry-after':
    'two HTTP 429 without Retry-After (GitHub: with its spent-budget headers, `x-ratelimit-remaining: 0` and a reset already due)',
  reset: 'TCP reset before the server handles the request',
  'lost-response': 'the server handles the request, then resets the connection (the answer is lost)',
  hang: `no answer: the server holds the request ${HANG_MS} ms, then the connection drops (an idle timeout of a NAT or load balancer)`,
};

export function faultRule(p: FaultPoint, kind: FaultKind): FaultRule {
  const base = { system: p.system, method: p.method, path: pathRegex(p.path), nth: p.nth };
  switch (kind) {
    case '5xx-persistent':
      return {
        ...base,
        times: Infinity,
        respond: {
          status: 503,
          headers: { 'content-type': 'text/html' },
          body: '<html><body>Service Unavailable</body></html>',
        },
      };
    case '5xx-once':
      return {
        ...base,
        times: 1,
        respond: { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' },
      };
    case '429-retry-after':
      return {
        ...base,
        times: 2,
        respond: {
          status: 429,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: '{"error":"rate_limited","message":"slow down"}',
        },
      };
    case '429-no-retry-after':
      return {
        ...base,
        times: 2,
        respond: {
          status: 429,
          // On GitHub this is the primary-limit shape ("Exceeding the rate limit", docs.github.com):
          // `x-ratelimit-remaining: 0` until `x-ratelimit-reset`, here already due, so the action
          // waits its floor of 1 s. A secondary limit can name no time at all; then the action
          // waits GitHub's "at least one minute", which test/unit/github-contents.test.ts tests on a
          // client with recorded sleeps (a minute per case would be too long for the matrix).
          headers: {
            'content-type': 'application/json',
            ...(p.system === 'github'
              ? { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000)) }
              : {}),
          },
          body: '{"error":"rate_limited","message":"slow down"}',
        },
      };
    case 'reset':
      return { ...base, times: 1, respond: { reset: true } };
    case 'lost-response':
      return { ...base, times: 1, after: true, respond: { reset: true } };
    case 'hang':
      return { ...base, times: 1, respond: { hangMs: HANG_MS } };
  }
}

/** Did the fault hit a request? (log status: the fault's status, or 0 for reset/hang). */
export function faultFired(s: Simulators, p: FaultPoint, kind: FaultKind, fromSeq: number): boolean {
  const re = pathRegex(p.path);
  const want = kind === '5xx-persistent' ? 503 : kind === '5xx-once' ? 502 : kind.startsWith('429') ? 429 : 0;
  return s.log
    .entries()
    .some(
      (e) => e.seq > fromSeq && e.system === p.system && e.method === p.method && re.test(e.path) && e.status === want,
    );
}

// ---- invariants ---------------------------------------------------------------------------------

export interface Observation {
  readonly state: string | undefined;
  readonly status: string | undefined;
  readonly code: number | null;
}

/**
 * Spec §7 invariants that must hold after every run, whatever happened to it:
 * - at every moment since the test began, the Jamf profile delivered a key id whose
 *   plaintext matches and which the control plane had not revoked (never zero valid keys);
 * - the old key was revoked only after the evidence recorded a passing validation and a
 *   passing revalidation after the validation window (apply path);
 * - the evidence record parses and its hash chain verifies;
 * - nothing secret appears in any run's output, summary or any commit.
 */
export function checkAlways(c: Case, path: 'apply' | 'revoke'): string[] {
  const s = c.sims;
  const problems: string[] = [];
  // Never zero valid keys: walk the configuration's history (the macOS one for an Intune fleet;
  // the oracle, test/oracle/judge.ts, walks the Windows script's too).
  const history =
    s.fleet.mdm === 'intune'
      ? s.graph.configHistory().map((v) => ({ version: v.version, at: v.at, payloads: v.content }))
      : s.jamf.profileHistory();
  const keys = new Map(s.thoth.keys().map((k) => [k.id, k]));
  for (let i = 0; i < history.length; i++) {
    const v = history[i]!;
    // The current version is delivered still: any revocation of its key is a violation.
    const until = history[i + 1]?.at.getTime() ?? Number.POSITIVE_INFINITY;
    let cfg: { apiKey: string; keyId: string } | null;
    try {
      cfg = readMobileconfig(v.payloads);
    } catch (e) {
      problems.push(`profile version ${v.version} does not parse: ${String(e)}`);
      continue;
    }
    if (!cfg) {
      problems.push(`profile version ${v.version} carries no Thoth key`);
      continue;
    }
    const k = keys.get(cfg.keyId);
    if (!k) {
      problems.push(`profile version ${v.version} delivers ${cfg.keyId}, which the control plane does not know`);
      continue;
    }
    if (s.thoth.plaintextOf(cfg.keyId) !== cfg.apiKey)
      problems.push(`profile version ${v.version} delivers key id ${cfg.keyId} with another key's plaintext`);
    if (k.revokedAt && k.revokedAt.getTime() < until) {
      problems.push(
        `profile version ${v.version} delivered ${cfg.keyId}, revoked at ${k.revokedAt.toISOString()} while still delivered (until ${Number.isFinite(until) ? new Date(until).toISOString() : 'now'})`,
      );
    }
    if (k.expiresAt && k.expiresAt.getTime() < (Number.isFinite(until) ? until : Date.now()))
      problems.push(`profile version ${v.version} delivered ${cfg.keyId}, expired while delivered`);
  }
  // Evidence parses and verifies.
  let rec: EvidenceRecord | undefined;
  try {
    rec = evidence(s);
  } catch (e) {
    problems.push(`evidence: ${String(e)}`);
  }
  // Old key revoked only after validation.
  const old = keys.get(s.ids.oldKeyId);
  if (path === 'apply' && old?.revokedAt) {
    const events = rec?.events ?? [];
    const validated = events.findIndex((e) => e.step === 'validate' && e.outcome === 'ok');
    const revalidated = events.findIndex((e, i) => i > validated && e.step === 'revalidate' && e.outcome === 'ok');
    const revokedEvt = events.findIndex((e) => e.step === 'revoke-old-key');
    if (validated < 0 || revalidated < 0)
      problems.push(`old key ${s.ids.oldKeyId} revoked but the evidence holds no passing validate + revalidate`);
    else {
      const at = new Date(events[revalidated]!.at).getTime();
      if (old.revokedAt.getTime() < at)
        problems.push(
          `old key revoked at ${old.revokedAt.toISOString()}, before the revalidation event (${events[revalidated]!.at})`,
        );
      const validatedAt = new Date(events[validated]!.at).getTime();
      if (old.revokedAt.getTime() < validatedAt + WINDOW_MS)
        problems.push(`old key revoked before the validation window passed (validated ${events[validated]!.at})`);
      if (revokedEvt >= 0 && revokedEvt < revalidated)
        problems.push('revoke-old-key event recorded before the revalidation');
    }
  }
  // No secret anywhere.
  const sources: Record<string, string> = {};
  c.runs.forEach((r, i) => {
    sources[`run ${i} stdout`] = r.stdout;
    sources[`run ${i} stderr`] = r.stderr;
    sources[`run ${i} summary`] = r.summary;
    sources[`run ${i} outputs`] = JSON.stringify(r.outputs);
  });
  for (const cm of s.github.commits('main'))
    sources[`commit ${cm.sha}`] = [cm.message, ...(cm.files ?? []).map((f: { text: string }) => f.text)].join('\n');
  for (const l of findLeaks(sources, s.secrets())) problems.push(`secret (${l.form}) in ${l.where}`);
  return problems;
}

/** At the end of recovery: every active key minted by the test is the delivered one (no orphan). */
export function checkNoOrphan(c: Case): string[] {
  const d = delivered(c.sims);
  return minted(c.sims)
    .filter((k) => k.active && k.id !== d.keyId)
    .map((k) => `orphan: minted key ${k.id} (${k.name}) is active but the configuration delivers ${d.keyId}`);
}

/** Revoke path, at the end: the revoked ids are inactive and in the delivered revoked list. */
export function checkRevoked(c: Case): string[] {
  const s = c.sims;
  const d = delivered(s);
  const problems: string[] = [];
  for (const id of [s.ids.oldKeyId, s.ids.undeployedKeyId]) {
    if (s.thoth.key(id)?.active !== false) problems.push(`${id} is still active`);
    if (!d.revoked.includes(id)) problems.push(`${id} is not in the delivered revoked list`);
  }
  return problems;
}

// ---- recovery -----------------------------------------------------------------------------------

export interface Recovery {
  readonly finalState: string | undefined;
  readonly runs: number;
  readonly problems: string[];
  readonly trail: string[];
}

/**
 * With the fault gone, run the path again until it reaches its end state:
 * apply → `completed` (waiting out the validation window when the record says so);
 * revoke → `revoked`. Invariants are checked after every run.
 */
export async function recover(c: Case, path: 'apply' | 'revoke', maxRuns = 5): Promise<Recovery> {
  const trail: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < maxRuns; i++) {
    const rec = safeEvidence(c.sims);
    if (path === 'apply' && rec?.state === 'completed') break;
    if (path === 'revoke' && rec?.state === 'revoked' && c.runs.at(-1)?.outputs['status'] === 'revoked') break;
    if (path === 'apply' && (rec?.state === 'awaiting-revocation' || rec?.state === 'validated') && rec.validatedAt) {
      const due = new Date(rec.validatedAt).getTime() + WINDOW_MS + 50;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    // A lease left by a run that has ended (it could not write evidence, or was killed) holds
    // other runs off until it expires (validation.timeout + 15 min). Do what an operator does:
    // re-run that workflow run (same run id, next attempt), which may take over at once.
    const lease =
      path === 'apply' ? (rec?.['lease'] as { run: { id: string; attempt: number } } | undefined) : undefined;
    const env = lease ? { GITHUB_RUN_ID: lease.run.id, GITHUB_RUN_ATTEMPT: String(lease.run.attempt + 1) } : {};
    const run = path === 'apply' ? await apply(c, { env }) : await revoke(c);
    const after = safeEvidence(c.sims);
    trail.push(
      `${lease ? `re-run ${lease.run.id}.${lease.run.attempt + 1}` : path}→${run.outputs['status'] ?? `exit ${run.code}`}/${after?.state ?? 'none'}`,
    );
    problems.push(...checkAlways(c, path).map((p) => `after recovery run ${i + 1}: ${p}`));
    if (problems.length) break;
  }
  const rec = safeEvidence(c.sims);
  const notes = notableSteps(c.sims);
  if (notes) trail.push(`[${notes}]`);
  return { finalState: rec?.state, runs: trail.length, problems, trail };
}

/** The lease a finished run left behind, if any (it blocks other runs until it expires). */
export function leftLease(c: Case): { id: string; attempt: number; until: string } | undefined {
  const lease = safeEvidence(c.sims)?.['lease'] as { run: { id: string; attempt: number }; until: string } | undefined;
  return lease ? { id: lease.run.id, attempt: lease.run.attempt, until: lease.until } : undefined;
}

const NOTABLE = [
  'reconcile',
  'supersede-key',
  'revoke-lost-key',
  'revoke-superseded-key',
  'revoke-new-key',
  'hold',
  'rollback',
  'error',
  'resume',
];

/** The recovery-related steps the record holds (how the system got itself out of trouble). */
export function notableSteps(s: Simulators): string {
  const counts = new Map<string, number>();
  for (const e of safeEvidence(s)?.events ?? [])
    if (NOTABLE.includes(e.step)) counts.set(e.step, (counts.get(e.step) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join(', ');
}

export function safeEvidence(s: Simulators): EvidenceRecord | undefined {
  try {
    return evidence(s);
  } catch {
    return undefined;
  }
}

// ---- bringing a case to the phase's starting point ------------------------------------------------

/** apply-revoke-old starts from a validated rotation whose window has passed. */
export async function prepare(c: Case, phase: Phase): Promise<void> {
  if (phase !== 'apply-revoke-old') return;
  const r = await apply(c);
  const rec = evidence(c.sims);
  if (r.code !== 0 || rec?.state !== 'awaiting-revocation')
    throw new Error(`setup: first apply ended ${r.outputs['status']} / ${rec?.state}\n${r.stdout}`);
  const due = new Date(rec.validatedAt!).getTime() + WINDOW_MS + 50;
  if (due > Date.now()) await sleep(due - Date.now());
}

/** The clean request log of each phase, and the stdout of the run. */
export async function cleanRun(phase: Phase): Promise<{ log: LogEntry[]; stdout: string; mutations: LogEntry[] }> {
  const c = await startCase(phase);
  try {
    await prepare(c, phase);
    c.sims.log.clear();
    const r = await runPhase(c, phase);
    const want =
      phase === 'apply' || phase === 'apply-intune' ? 'in-progress' : phase === 'revoke' ? 'revoked' : 'completed';
    if (r.outputs['status'] !== want)
      throw new Error(`clean ${phase} ended ${r.outputs['status']}:\n${r.stdout}\n${r.stderr}`);
    return { log: c.sims.log.entries(), stdout: r.stdout, mutations: c.sims.log.mutations() };
  } finally {
    await c.sims.close();
  }
}

// ---- concurrency limiter and report ------------------------------------------------------------

export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

export interface CaseResult {
  readonly suite: string;
  readonly name: string;
  readonly phase: Phase;
  readonly point: string;
  readonly kind: string;
  readonly survived: boolean;
  readonly fired: boolean;
  readonly faultedRun: string;
  readonly finalState: string | undefined;
  readonly trail: string[];
  readonly problems: string[];
  readonly ms: number;
}

/** A case whose own code threw (not the action's): failed, with the stack as its problem. */
export function caseThrew(
  c: Pick<CaseResult, 'suite' | 'name' | 'phase' | 'point' | 'kind' | 'faultedRun'>,
  e: unknown,
): CaseResult {
  return {
    ...c,
    survived: false,
    fired: false,
    finalState: undefined,
    trail: [],
    problems: [`the case itself threw: ${String((e as Error)?.stack ?? e)}`],
    ms: 0,
  };
}

export function writeReport(file: string, results: readonly CaseResult[], meta: Record<string, unknown>): void {
  const dir = path.join(ROOT, '.tmp/faults');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, file), JSON.stringify({ ...meta, results }, null, 2));
}

export type { ActionRun, Simulators, LogEntry };
