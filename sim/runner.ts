/**
 * Runs the bundled action (dist/index.js) exactly as the GitHub runner does —
 * INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files — against the
 * simulators. Shared by the end-to-end tests, `npm run demo` and `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDetectionScript, buildRemediationScript, type Simulators } from './index.js';
import { oracleLedger, runLedger } from './ledger.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist/index.js');

/** The node that runs the bundle: THOTH_E2E_NODE (CI points it at Node 24) or this one. */
export const NODE = process.env['THOTH_E2E_NODE'] || process.execPath;

export { oracleLedger, runLedger } from './ledger.js';

/** Bookkeeping around one spawned run (runAction, and the fault suites' killable runs). */
export function trackRun(apiUrl: string): (run: ActionRun) => void {
  oracleLedger.active.set(apiUrl, (oracleLedger.active.get(apiUrl) ?? 0) + 1);
  return (run) => {
    oracleLedger.active.set(apiUrl, Math.max(0, (oracleLedger.active.get(apiUrl) ?? 1) - 1));
    runLedger.runs.push(run);
    oracleLedger.runs.push(run);
  };
}

export interface ActionRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly summary: string;
  /** With `measure`: peak resident set of the action process (getrusage maxrss, KiB). */
  readonly peakRssKb?: number;
  /** With `measure`: Date.now() just before the spawn and when the process closed. */
  readonly spawnedAt?: number;
  readonly closedAt?: number;
  /** What the run was given and when it ran: the test oracle maps runs to simulators and DELETEs to runs. */
  readonly context?: RunContext;
}

export interface RunContext {
  readonly inputs: Record<string, string>;
  /** GITHUB_API_URL, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT as the run saw them. */
  readonly apiUrl: string;
  readonly runId: string;
  readonly attempt: string;
  readonly from: number;
  readonly to: number;
}

/**
 * The run's stdout and stderr as a user sees them in the Actions log: the runner does not print
 * `::add-mask::` lines and replaces every registered value with `***` in everything printed
 * after the command (docs.github.com/actions/reference/workflows-and-actions/workflow-commands
 * "Masking a value in a log"; command data is escaped %25 / %0D / %0A, toolkit command.ts).
 * stderr is masked with every value stdout registered (the runner holds one masker per job).
 */
export function maskedView(run: Pick<ActionRun, 'stdout' | 'stderr'>): {
  stdout: string;
  stderr: string;
  masks: string[];
} {
  const masks: string[] = [];
  const mask = (line: string): string => {
    let out = line;
    for (const m of [...masks].sort((a, b) => b.length - a.length))
      if (m && out.includes(m)) out = out.split(m).join('***');
    return out;
  };
  const shown: string[] = [];
  for (const line of run.stdout.split('\n')) {
    const m = /^::add-mask::(.*)$/.exec(line);
    if (m) masks.push(unescapeCommandData(m[1]!));
    else shown.push(mask(line));
  }
  return { stdout: shown.join('\n'), stderr: run.stderr.split('\n').map(mask).join('\n'), masks };
}

function unescapeCommandData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** What the oracle needs of a run, from the environment and inputs it was started with. */
export function runContext(inputs: Record<string, string>, env: Record<string, string>, from: number): RunContext {
  return {
    inputs,
    apiUrl: env['GITHUB_API_URL'] ?? '',
    runId: env['GITHUB_RUN_ID'] ?? '',
    attempt: env['GITHUB_RUN_ATTEMPT'] ?? '1',
    from,
    to: Date.now(),
  };
}

/** Parse the GITHUB_OUTPUT file: `name<<delimiter\nvalue\ndelimiter` blocks (core.setOutput). */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const [, name, delim] = m;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
    out[name!] = value.join('\n');
  }
  return out;
}

export interface Workspace {
  readonly dir: string;
  write(rel: string, text: string): string;
}

export function makeWorkspace(): Workspace {
  const dir = mkdtempSync(path.join(tmpdir(), 'thoth-rotate-ws-'));
  return {
    dir,
    write(rel, text) {
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

export interface RunOptions {
  readonly workspace: Workspace;
  readonly inputs: Record<string, string>;
  readonly env?: Record<string, string>;
  /** Kill the process when this returns true for a chunk of stdout (crash tests). */
  readonly killWhen?: (stdoutSoFar: string) => boolean;
  readonly timeoutMs?: number;
  /**
   * Measure the process (for `npm run bench`): a tiny `--require` preload writes the
   * process's own peak RSS (`process.resourceUsage().maxRSS`, exact, from getrusage) on
   * exit, and the spawn/close times are returned. Off by default: nothing changes then.
   */
  readonly measure?: boolean;
  /** Another bundle to run instead of dist/index.js (bench A/B comparisons, e.g. a minified build). */
  readonly dist?: string;
  /** Node options before the bundle (`--cpu-prof`, which NODE_OPTIONS does not accept). */
  readonly nodeArgs?: readonly string[];
}

/** Written next to the run's output file; records maxRSS at exit (not on SIGKILL). */
const RSS_PRELOAD = `'use strict';
const fs = require('node:fs');
process.on('exit', () => { try { fs.writeFileSync(process.env.THOTH_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)); } catch {} });
`;

/** A scratch folder with empty GITHUB_OUTPUT and summary files, and the environment a runner gives a step. */
export function runnerEnvironment(workspaceDir: string): {
  scratch: string;
  outputFile: string;
  summaryFile: string;
  env: Record<string, string>;
} {
  const scratch = mkdtempSync(path.join(tmpdir(), 'thoth-rotate-run-'));
  const outputFile = path.join(scratch, 'output');
  const summaryFile = path.join(scratch, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? scratch,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspaceDir,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_RUN_ID: String(1000 + Math.floor(Math.random() * 1e6)),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octo-secops',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: scratch,
  };
  return { scratch, outputFile, summaryFile, env };
}

/** Run dist/index.js as the GitHub runner does: INPUT_* env, output and summary files. */
export async function runAction(o: RunOptions): Promise<ActionRun> {
  const base = runnerEnvironment(o.workspace.dir);
  const { scratch, outputFile, summaryFile } = base;
  const env: Record<string, string> = { ...base.env, ...o.env };
  for (const [k, v] of Object.entries(o.inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const args = [...(o.nodeArgs ?? []), o.dist ?? DIST];
  const rssFile = path.join(scratch, 'maxrss');
  if (o.measure) {
    const preload = path.join(scratch, 'measure.cjs');
    writeFileSync(preload, RSS_PRELOAD);
    env['THOTH_BENCH_RSS_FILE'] = rssFile;
    args.unshift('--require', preload);
  }
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now();
    const done = trackRun(env['GITHUB_API_URL'] ?? '');
    const child = spawn(NODE, args, { env, cwd: o.workspace.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (o.killWhen?.(stdout)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const closedAt = Date.now();
      const rss = o.measure ? readRss(rssFile) : undefined;
      const measured = o.measure ? { spawnedAt, closedAt, ...(rss !== undefined ? { peakRssKb: rss } : {}) } : {};
      const context = runContext(o.inputs, env, spawnedAt);
      const run = {
        code,
        signal,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
        summary: readFileSync(summaryFile, 'utf8'),
        ...measured,
        context,
      };
      done(run);
      resolve(run);
    });
  });
}

function readRss(file: string): number | undefined {
  try {
    const kb = Number(readFileSync(file, 'utf8'));
    return Number.isFinite(kb) && kb > 0 ? kb : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `allowed-hosts` for the simulators: each loopback `127.0.0.1:<port>` that receives credentials
 * (Thoth, Jamf, Graph, login). Loopback is allowed only when listed, and only on the listed port.
 * GitHub is not listed: its URL is the runner's GITHUB_API_URL, never an intent's.
 */
export function simAllowedHosts(sims: Simulators): string {
  return [sims.urls.thoth, sims.urls.jamf, sims.urls.graph, sims.urls.login].map((u) => new URL(u).host).join(',');
}

/** The inputs a workflow would pass, pointing at the simulators. */
export function simInputs(sims: Simulators, extra: Record<string, string> = {}): Record<string, string> {
  return {
    mode: 'plan',
    intents: '.thoth/rotations',
    'allowed-hosts': simAllowedHosts(sims),
    'thoth-api-key': sims.creds.orgApiKey,
    'jamf-client-id': sims.creds.jamfClientId,
    'jamf-client-secret': sims.creds.jamfClientSecret,
    'github-token': sims.creds.githubToken,
    ...extra,
  };
}

export function simEnv(sims: Simulators, extra: Record<string, string> = {}): Record<string, string> {
  runLedger.sims.add(sims);
  oracleLedger.sims.add(sims);
  return { GITHUB_API_URL: sims.urls.github, GITHUB_REPOSITORY: `${sims.creds.owner}/${sims.creds.repo}`, ...extra };
}

export interface JamfIntentOptions {
  name?: string;
  window?: string;
  validation?: string;
  rollback?: 'restore' | 'hold';
  permissions?: string;
  currentKeyId?: string;
  region?: string;
  extra?: string;
}

/** A Jamf intent aimed at the simulators (YAML text). */
export function jamfIntent(sims: Simulators, o: JamfIntentOptions = {}): string {
  const start = new Date(Date.now() - 3_600_000).toISOString();
  const end = new Date(Date.now() + 3_600_000).toISOString();
  return [
    'version: 1',
    `name: ${o.name ?? 'corpsec-macos-2026-12'}`,
    'ticket: SEC-1234',
    `tenant: ${sims.creds.tenant}`,
    'controlPlane:',
    `  url: ${sims.urls.thoth}`,
    'fleet:',
    `  id: ${sims.ids.fleetId}`,
    `  region: ${o.region ?? 'us-east-1'}`,
    'key:',
    '  scope: fleet',
    `  permissions: ${o.permissions ?? '[read, execute]'}`,
    '  ttl: 90d',
    ...(o.currentKeyId ? ['current:', `  keyId: ${o.currentKeyId}`] : []),
    o.window ?? `window:\n  start: ${start}\n  end: ${end}`,
    o.validation ??
      'validation:\n  window: 2s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 10s\n  pollInterval: 200ms',
    'mdm:',
    '  provider: jamf',
    '  jamf:',
    `    url: ${sims.urls.jamf}`,
    `    profileId: ${sims.ids.jamfProfileId}`,
    `    groupId: ${sims.ids.jamfGroupId}`,
    '    healthAttribute: Thoth Health',
    'rollback:',
    `  onValidationFailure: ${o.rollback ?? 'restore'}`,
    o.extra ?? '',
  ].join('\n');
}

/** Where intents written by `intuneIntent` expect the Windows template. */
export const WINDOWS_TEMPLATE_PATH = '.thoth/templates/thoth-key.ps1';

/** The simulator's own remediation script with the three placeholders: its initial script is "rendered from it". */
export const WINDOWS_TEMPLATE = buildRemediationScript({ apiKey: 'AKEY', keyId: 'KID', revoked: [] })
  .replace("'AKEY'", "'{{THOTH_API_KEY}}'")
  .replace("'KID'", "'{{THOTH_API_KEY_ID}}'")
  .replace("'[]'", "'{{THOTH_REVOKED_API_KEY_IDS}}'");

/** Where intents written by `intuneIntent` expect the Windows detection template. */
export const WINDOWS_DETECTION_TEMPLATE_PATH = '.thoth/templates/thoth-detect.ps1';

/** The simulator's own detection script with the two id placeholders (it never carries the key). */
export const WINDOWS_DETECTION_TEMPLATE = buildDetectionScript({ keyId: 'KID', revoked: [] })
  .replace("'KID'", "'{{THOTH_API_KEY_ID}}'")
  .replace("'[]'", "'{{THOTH_REVOKED_API_KEY_IDS}}'");

/** Writes both Windows templates where `intuneIntent` points (`detection` replaces the detection template). */
export function writeWindowsTemplates(ws: Workspace, o: { remediation?: string; detection?: string } = {}): void {
  ws.write(WINDOWS_TEMPLATE_PATH, o.remediation ?? WINDOWS_TEMPLATE);
  ws.write(WINDOWS_DETECTION_TEMPLATE_PATH, o.detection ?? WINDOWS_DETECTION_TEMPLATE);
}

/** A workspace with one Intune intent for `sims`, and both Windows templates when the intent has a windows block. */
export function intuneWorkspace(
  sims: Simulators,
  platforms: { macos?: boolean; windows?: boolean },
  o: JamfIntentOptions = {},
  templates: { remediation?: string; detection?: string } = {},
): Workspace {
  const ws = makeWorkspace();
  ws.write('.thoth/rotations/corpsec.yaml', intuneIntent(sims, platforms, o));
  if (platforms.windows) writeWindowsTemplates(ws, templates);
  return ws;
}

/** The Jamf intent of `jamfIntent` with `mdm.provider: intune` and the intune block instead. */
export function intuneIntent(
  sims: Simulators,
  platforms: { macos?: boolean; windows?: boolean },
  o: JamfIntentOptions = {},
): string {
  const block = [
    'mdm:',
    '  provider: intune',
    '  intune:',
    `    graphUrl: ${sims.urls.graph}`,
    `    loginUrl: ${sims.urls.login}`,
    `    groupId: ${sims.ids.graphGroupId}`,
    ...(platforms.macos ? ['    macos:', `      configurationId: ${sims.ids.macosConfigurationId}`] : []),
    ...(platforms.windows
      ? [
          '    windows:',
          `      remediationId: ${sims.ids.remediationId}`,
          `      template: ${WINDOWS_TEMPLATE_PATH}`,
          `      detectionTemplate: ${WINDOWS_DETECTION_TEMPLATE_PATH}`,
        ]
      : []),
    'rollback:',
  ].join('\n');
  return jamfIntent(sims, o).replace(/^mdm:\n[\s\S]*?\nrollback:/m, block);
}
