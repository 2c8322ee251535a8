import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { AllowedHosts } from '../http/allowed-hosts.js';
import { hostFindings } from './hosts.js';
import {
  ambiguousPlaceholder,
  forbiddenPlaceholders,
  missingPlaceholders,
  type ScriptKind,
} from '../mdm/windows-template.js';
import {
  checkRepoPath,
  crossFieldFindings,
  DEFAULTS,
  describe,
  hintAt,
  intentFileSchema,
  isPlainMap,
  keysAt,
  normaliseRepoPath,
  type Finding,
  type IntentFile,
  type Located,
  type PathSeg,
} from './schema.js';
import type { Intent, RotationWindow } from './types.js';

/**
 * Reads intent files (spec §5) and turns them into `Intent`s, or throws one
 * ConfigError listing every problem of every file, each at file:line:col.
 */

const MAX_BYTES = 64 * 1024;
/** Intents need no anchors; a low limit stops "billion laughs" expansion early. */
const MAX_ALIASES = 16;
/** `field` of a problem that concerns the whole file. */
const DOC = '(file)';
const FORMAT_FIX = 'an intent file is one YAML map starting with version: 1; see docs/intent.md';

type Pos = { line: number; col: number } | Record<string, never>;
interface Loaded {
  readonly file: string;
  readonly problems: ConfigProblem[];
  readonly intent?: Intent;
  readonly locate?: (p: readonly PathSeg[]) => Pos;
  /** The name as written, also for files with problems, to catch duplicates early. */
  readonly name?: string;
}

export interface LoadOptions {
  /** The checkout (GITHUB_WORKSPACE): intents and templates must resolve inside it, links followed. */
  readonly workspace: string;
  /** When given, every host an intent names must be allowed (spec §9); the action always gives it. */
  readonly allowedHosts?: AllowedHosts;
}

/** One intent file, or every `*.yaml` / `*.yml` of a folder (not recursive, sorted by name). */
export async function loadIntents(pathOrDir: string, opts: LoadOptions): Promise<Intent[]> {
  const workspace = path.resolve(opts.workspace);
  const realWorkspace = await realpath(workspace).catch(() => workspace);
  const files = await listFiles(path.resolve(workspace, pathOrDir), workspace, realWorkspace);
  const loaded: Loaded[] = [];
  // One at a time: files are small, and the order of problems stays stable.
  for (const f of files) loaded.push(await loadFile(f, workspace, realWorkspace, opts.allowedHosts));
  acrossFiles(loaded);
  const problems = loaded.flatMap((l) =>
    [...l.problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded.map((l) => l.intent!);
}

/** Forward-slash path relative to the workspace, or absolute when outside it. */
function shown(abs: string, workspace: string): string {
  const rel = path.relative(workspace, abs);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
}

/** Whether `abs`, with every symbolic link followed, is inside the (real) workspace; false when it does not resolve. */
async function resolvesInside(abs: string, realWorkspace: string): Promise<boolean> {
  const real = await realpath(abs).catch(() => undefined);
  if (real === undefined) return false;
  const rel = path.relative(realWorkspace, real);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function listFiles(target: string, workspace: string, realWorkspace: string): Promise<string[]> {
  const fail = (problem: string, fix: string): never => {
    throw new ConfigError([{ file: shown(target, workspace), field: 'intents', problem, fix }]);
  };
  const st = await stat(target).catch(() => undefined);
  if (!st)
    return fail(
      'does not exist',
      'set the intents input to an intent file or a folder of them (default .thoth/rotations)',
    );
  // Intents are read from the checkout only: not from elsewhere on the runner, not through a link.
  if (!(await resolvesInside(target, realWorkspace))) {
    return fail(
      'is outside the workspace',
      'set the intents input to a path inside the repository, relative to its root, with no link that leaves it',
    );
  }
  if (st.isFile()) return [target];
  if (!st.isDirectory())
    return fail('is neither a file nor a folder', 'set the intents input to an intent file or a folder of them');
  // Dotfiles are skipped: editors leave lock and swap files next to the real ones.
  const names = (await readdir(target, { withFileTypes: true }))
    .filter((e) => /\.ya?ml$/.test(e.name) && !e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink()))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) {
    fail(
      'contains no *.yaml or *.yml files',
      'add an intent file to the folder, or point the intents input at another file or folder',
    );
  }
  return names.map((n) => path.join(target, n));
}

async function loadFile(
  abs: string,
  workspace: string,
  realWorkspace: string,
  allowedHosts: AllowedHosts | undefined,
): Promise<Loaded> {
  const file = shown(abs, workspace);
  const whole = (problem: string, fix: string): Loaded => ({ file, problems: [{ file, field: DOC, problem, fix }] });
  // Checked before reading: a problem message must never quote a file from outside the checkout.
  if (!(await resolvesInside(abs, realWorkspace))) {
    return whole(
      'is a symbolic link that leads outside the workspace',
      'commit the intent itself in the repository; intents are read only from the checkout',
    );
  }
  let bytes: Buffer;
  try {
    const st = await stat(abs);
    if (!st.isFile()) return whole('is not a regular file', 'point the intents input at YAML files only');
    // Checked before reading, and again after, in case the file grew in between.
    if (st.size > MAX_BYTES)
      return whole(
        `is ${st.size} bytes, over the 64 KiB limit`,
        'an intent describes one rotation; remove what does not belong',
      );
    bytes = await readFile(abs);
  } catch (e) {
    return whole(
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'check the path and the file permissions',
    );
  }
  if (bytes.length > MAX_BYTES)
    return whole(
      `is ${bytes.length} bytes, over the 64 KiB limit`,
      'an intent describes one rotation; remove what does not belong',
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return whole('is not valid UTF-8', 'save the file as UTF-8');
  }

  const lc = new LineCounter();
  const doc = parseDocument(text, {
    uniqueKeys: true,
    prettyErrors: true,
    lineCounter: lc,
    version: '1.2',
    schema: 'core',
  });
  const problems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((e) => yamlProblem(file, doc, e));
  if (problems.length > 0) return { file, problems };
  // A %YAML 1.1 directive would bring back yes/no booleans, sexagesimals and timestamps.
  if (doc.directives?.yaml.version !== '1.2')
    return whole(
      `declares YAML ${doc.directives?.yaml.version ?? '?'}`,
      'remove the %YAML directive; intent files are read as YAML 1.2',
    );
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      return whole(
        `expands YAML aliases more than ${MAX_ALIASES} times, like an alias bomb`,
        'intent files need no anchors or aliases; remove them',
      );
    }
    return whole(`cannot be converted to data (${e instanceof Error ? e.message : String(e)})`, FORMAT_FIX);
  }
  if (!isMap(doc.contents) || !isPlainMap(raw))
    return whole(`is ${raw == null ? 'empty' : describe(raw)}, not a map`, FORMAT_FIX);

  const locate = (p: readonly PathSeg[], at?: 'key'): Pos => locateNode(doc, lc, p, at);
  const add = (l: Located): void => {
    problems.push({ file, field: fieldName(l.path) || DOC, problem: l.problem, fix: l.fix, ...locate(l.path, l.at) });
  };
  const parsed = intentFileSchema.safeParse(raw);
  if (!parsed.success) parsed.error.issues.flatMap((i) => issueFindings(i, raw)).forEach(add);
  crossFieldFindings(raw).forEach(add);
  if (allowedHosts) hostFindings(raw, allowedHosts).forEach(add);
  for (const [field, kind] of [
    ['template', 'remediation'],
    ['detectionTemplate', 'detection'],
  ] as const) {
    const template = valueAt(raw, ['mdm', 'intune', 'windows', field]);
    // Only a path that passed the repository-path rule is ever opened.
    if (typeof template === 'string' && !checkRepoPath(template, '')) {
      const f = await templateFinding(workspace, template, kind);
      if (f) add({ path: ['mdm', 'intune', 'windows', field], ...f });
    }
  }
  const name = typeof raw['name'] === 'string' ? raw['name'] : undefined;
  if (problems.length > 0 || !parsed.success)
    return { file, problems, locate, ...(name === undefined ? {} : { name }) };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const intent = toIntent(parsed.data, file, sha256, workspace);
  return { file, problems, locate, name: intent.name, intent };
}

function yamlProblem(file: string, doc: Document, e: YAMLError): ConfigProblem {
  const lp = e.linePos?.[0];
  const first = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const f: Finding =
    e.code === 'DUPLICATE_KEY'
      ? { problem: 'duplicate key', fix: 'keep one of the entries; YAML would silently use only one of them' }
      : e.code === 'MULTIPLE_DOCS'
        ? {
            problem: 'holds more than one YAML document',
            fix: 'put each intent in its own file and remove the --- separators',
          }
        : { problem: `invalid YAML: ${first}`, fix: 'correct the YAML syntax at this position' };
  // Only a duplicate key is known to sit at a key; other errors may point past the real mistake.
  const field = e.code === 'DUPLICATE_KEY' ? fieldName(pathAtOffset(doc, e.pos[0])) : '';
  return { file, field: field || DOC, ...f, ...(lp ? { line: lp.line, col: lp.col } : {}) };
}

/** zod issues → findings with our wording; value rules already carry theirs. */
function issueFindings(issue: z.core.$ZodIssue, raw: unknown): Located[] {
  const p = issue.path as PathSeg[];
  const setTo = `set ${fieldName(p)} to ${hintAt(p)}`;
  switch (issue.code) {
    case 'custom':
      return [{ path: p, problem: issue.message, fix: String(issue.params?.['fix'] ?? setTo) }];
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: [...p, k],
        at: 'key' as const,
        problem: 'unknown key',
        fix: unknownKeyFix(k, keysAt(p)),
      }));
    case 'invalid_type': {
      const v = valueAt(raw, p);
      if (v === undefined) return [{ path: p, problem: 'required', fix: setTo }];
      const quote =
        issue.expected === 'string' && (typeof v === 'number' || typeof v === 'boolean')
          ? ', in quotes so YAML keeps it text'
          : '';
      return [
        {
          path: p,
          problem: `expected ${NOUNS[issue.expected] ?? issue.expected}, got ${describe(v)}`,
          fix: setTo + quote,
        },
      ];
    }
    default:
      return [{ path: p, problem: issue.message, fix: setTo }];
  }
}
const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  object: 'a map',
  array: 'a list',
  boolean: 'true or false',
};

function unknownKeyFix(key: string, allowed: readonly string[]): string {
  const near = allowed
    .map((a) => ({ a, d: editDistance(key.toLowerCase(), a.toLowerCase()) }))
    .filter((x) => x.d <= Math.min(2, Math.max(1, Math.floor(key.length / 3))))
    .sort((x, y) => x.d - y.d)[0];
  if (near) return `remove it; did you mean "${near.a}"?`;
  return allowed.length > 0 ? `remove it; allowed here: ${allowed.join(', ')}` : 'remove it';
}

/** Optimal-string-alignment distance: a swap of two neighbours costs 1. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i]![j] = v;
    }
  }
  return at(a.length, b.length);
}

export function fieldName(p: readonly PathSeg[]): string {
  return p.reduce<string>((s, seg) => (typeof seg === 'number' ? `${s}[${seg}]` : s ? `${s}.${seg}` : seg), '');
}

function valueAt(raw: unknown, p: readonly PathSeg[]): unknown {
  let v = raw;
  for (const seg of p) v = typeof v === 'object' && v !== null ? (v as Record<PathSeg, unknown>)[seg] : undefined;
  return v;
}

/**
 * line:col of the node at `p`: its key (`at: 'key'`) or its value. For a path
 * that does not exist (a missing key) it is the deepest map that does.
 */
function locateNode(doc: Document, lc: LineCounter, p: readonly PathSeg[], at?: 'key'): Pos {
  let node: unknown = doc.contents;
  let key: unknown;
  let complete = true;
  for (const seg of p) {
    if (isAlias(node)) node = node.resolve(doc);
    const pair = isMap(node)
      ? node.items.find((i) => isScalar(i.key) && String(i.key.value) === String(seg))
      : isSeq(node) && typeof seg === 'number' && node.items[seg]
        ? { key: undefined, value: node.items[seg] }
        : undefined;
    if (!pair) {
      complete = false;
      break;
    }
    key = pair.key;
    node = pair.value ?? pair.key;
  }
  const target = at === 'key' && complete && key ? key : node;
  const start = (target as { range?: [number, number, number] } | null)?.range?.[0];
  return start === undefined ? {} : lc.linePos(start);
}

/** The path of the innermost key or value that contains `offset` (for parser errors). */
function pathAtOffset(doc: Document, offset: number): PathSeg[] {
  const inside = (n: unknown): boolean => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    return !!r && r[0] <= offset && offset < r[2];
  };
  const out: PathSeg[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((i) => inside(i.key) || inside(i.value));
      if (!pair || !isScalar(pair.key)) return out;
      out.push(String(pair.key.value));
      if (inside(pair.key)) return out;
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex(inside);
      if (i < 0) return out;
      out.push(i);
      node = node.items[i];
    } else return out;
  }
}

async function templateFinding(workspace: string, rel: string, kind: ScriptKind): Promise<Finding | undefined> {
  const fix = 'commit the template at this repository path, or correct the path';
  let real: string;
  try {
    real = await realpath(path.resolve(workspace, rel));
  } catch {
    return { problem: `${rel} does not exist in the repository`, fix };
  }
  // A symbolic link may still lead out of the checkout.
  const inside = path.relative(await realpath(workspace), real);
  if (inside.startsWith('..') || path.isAbsolute(inside))
    return {
      problem: `${rel} resolves outside the repository`,
      fix: 'keep the template inside the repository, not behind a link that leaves it',
    };
  let text: string;
  try {
    const st = await stat(real);
    if (!st.isFile()) return { problem: `${rel} is not a file`, fix };
    if (st.size > MAX_BYTES)
      return { problem: `${rel} is ${st.size} bytes, over the 64 KiB limit`, fix: 'shorten the template' };
    text = await readFile(real, 'utf8');
  } catch (e) {
    return {
      problem: `${rel} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      fix: 'check the file permissions',
    };
  }
  const missing = missingPlaceholders(text, kind);
  if (missing.length > 0) {
    return kind === 'remediation'
      ? {
          problem: `${rel} lacks ${missing.join(', ')}`,
          fix: 'put each placeholder where the script writes that value; the action substitutes all three',
        }
      : {
          problem: `${rel} lacks ${missing.join(', ')}`,
          fix: 'put both where the detection script compares with what is installed, and exit 1 when they differ: Intune runs the remediation script only then',
        };
  }
  const forbidden = forbiddenPlaceholders(text, kind);
  if (forbidden.length > 0) {
    return {
      problem: `${rel} holds ${forbidden.join(', ')}`,
      fix: 'remove it: the detection script needs only the key id and the revoked ids, and every copy of the key in the tenant is one more place it can be read',
    };
  }
  const ambiguous = ambiguousPlaceholder(text);
  return ambiguous
    ? {
        problem: `${rel}: ${ambiguous}`,
        fix: 'put a quote, space or line break after that placeholder, so the value it receives can be read back from the script',
      }
    : undefined;
}

/**
 * Rules across files: names must be unique, and so must evidence records
 * (compared case-insensitively: a checkout on macOS or Windows would merge them).
 */
function acrossFiles(loaded: Loaded[]): void {
  const names = new Map<string, string>();
  const records = new Map<string, string>();
  for (const l of loaded) {
    const prev = l.name === undefined ? undefined : names.get(l.name);
    if (l.name !== undefined && prev === undefined) names.set(l.name, l.file);
    if (prev !== undefined) {
      l.problems.push({
        file: l.file,
        field: 'name',
        problem: `${JSON.stringify(l.name)} is also the name of ${prev}`,
        fix: 'give every intent its own name',
        ...l.locate?.(['name']),
      });
      continue;
    }
    if (!l.intent) continue;
    const record = l.intent.evidencePath.toLowerCase();
    const other = records.get(record);
    if (other === undefined) records.set(record, l.file);
    else
      l.problems.push({
        file: l.file,
        field: 'evidence.path',
        problem: `${l.intent.evidencePath} is also the evidence record of ${other}`,
        fix: 'give every intent its own name or evidence.path',
        ...l.locate?.(['evidence', 'path']),
      });
  }
}

function toIntent(f: IntentFile, file: string, sha256: string, workspace: string): Intent {
  const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } =>
    v === undefined ? {} : ({ [k]: v } as { [P in K]: V });
  const w = f.window;
  const window: RotationWindow | undefined =
    w?.start && w.end
      ? { kind: 'once', start: w.start, end: w.end }
      : w?.schedule && w.duration
        ? { kind: 'cron', schedule: w.schedule.trim().split(/\s+/).join(' '), durationMs: w.duration }
        : undefined;
  const v = f.validation ?? {};
  const { jamf, intune } = f.mdm;
  const evidence = normaliseRepoPath(f.evidence?.path ?? DEFAULTS.evidencePath);
  return {
    path: file,
    sha256,
    version: 1,
    name: f.name,
    ...opt('ticket', f.ticket),
    tenant: f.tenant,
    controlPlaneUrl:
      f.controlPlane?.url ??
      `https://grid.${f.tenant.toLowerCase()}.${(f.controlPlane?.apexDomain ?? DEFAULTS.apexDomain).toLowerCase()}`,
    fleet: { id: f.fleet.id, region: f.fleet.region },
    key: {
      scope: f.key.scope,
      ...opt('endpointId', f.key.endpointId),
      permissions: f.key.permissions,
      ...opt('ttlMs', f.key.ttl),
    },
    ...opt('current', f.current),
    ...opt('window', window),
    validation: {
      windowMs: v.window ?? DEFAULTS.validation.windowMs,
      minHealthy: v.minHealthy ?? DEFAULTS.validation.minHealthy,
      activeWithinMs: v.activeWithin ?? DEFAULTS.validation.activeWithinMs,
      timeoutMs: v.timeout ?? DEFAULTS.validation.timeoutMs,
      pollIntervalMs: v.pollInterval ?? DEFAULTS.validation.pollIntervalMs,
    },
    mdm: {
      provider: f.mdm.provider,
      ...opt(
        'jamf',
        jamf && {
          url: jamf.url,
          profileId: jamf.profileId,
          groupId: jamf.groupId,
          ...opt('healthAttribute', jamf.healthAttribute),
        },
      ),
      ...opt(
        'intune',
        intune && {
          graphUrl: intune.graphUrl ?? DEFAULTS.graphUrl,
          loginUrl: intune.loginUrl ?? DEFAULTS.loginUrl,
          groupId: intune.groupId,
          ...opt('macos', intune.macos),
          ...opt(
            'windows',
            intune.windows && {
              remediationId: intune.windows.remediationId,
              template: normaliseRepoPath(intune.windows.template),
              templatePath: path.resolve(workspace, intune.windows.template),
              detectionTemplate: normaliseRepoPath(intune.windows.detectionTemplate),
              detectionTemplatePath: path.resolve(workspace, intune.windows.detectionTemplate),
            },
          ),
        },
      ),
      settings: {
        domain: f.mdm.settings?.domain ?? DEFAULTS.settings.domain,
        apiKey: f.mdm.settings?.apiKey ?? DEFAULTS.settings.apiKey,
        keyId: f.mdm.settings?.keyId ?? DEFAULTS.settings.keyId,
        revokedKeyIds: f.mdm.settings?.revokedKeyIds ?? DEFAULTS.settings.revokedKeyIds,
      },
    },
    ...opt(
      'recurrence',
      f.recurrence && { ...opt('everyMs', f.recurrence.every), ...opt('beforeMs', f.recurrence.before) },
    ),
    rollback: { onValidationFailure: f.rollback?.onValidationFailure ?? DEFAULTS.onValidationFailure },
    evidence: { path: evidence },
    evidencePath: `${evidence}/${f.fleet.id}/${f.name}.json`,
  };
}
