import { z } from 'zod';
import { DURATION_FORMAT, DURATION_PATTERN, formatDuration, parseDuration } from '../time/duration.js';
import { cronProblem, parseInstant, windowFindings } from './window.js';

/**
 * Shape and per-field rules of an intent file (spec §5). zod checks shape, types
 * and each value on its own; rules that relate several fields live in
 * the second pass `crossFieldFindings` (and `windowFindings`), which runs on the raw
 * document so that it reports even when other fields are broken.
 *
 * Every rule yields a `Finding` (problem + fix) rather than zod's generic text;
 * `load.ts` places it at a file, field and line:col.
 */
export interface Finding {
  readonly problem: string;
  readonly fix: string;
}
type Parsed<T> = { readonly value: T } | Finding;
type Check = (v: string) => Finding | undefined;

/** A value for messages: JSON-quoted (control characters escaped), shortened. */
export function q(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…"` : s;
}
const orList = (xs: readonly string[]): string =>
  xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;

/** Defaults of optional fields (spec §5); durations in ms, shares as fractions. */
export const DEFAULTS = {
  apexDomain: 'atensecurity.com',
  graphUrl: 'https://graph.microsoft.com',
  loginUrl: 'https://login.microsoftonline.com',
  validation: {
    windowMs: 86_400_000,
    minHealthy: 0.95,
    activeWithinMs: 7 * 86_400_000,
    timeoutMs: 1_800_000,
    pollIntervalMs: 30_000,
  },
  settings: {
    domain: 'com.atensecurity.thoth',
    apiKey: 'THOTH_API_KEY',
    keyId: 'THOTH_API_KEY_ID',
    revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
  },
  onValidationFailure: 'restore',
  evidencePath: '.thoth/evidence',
} as const;

// ---- value rules, shared with settings.ts ---------------------------------

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Ids end up in URL paths. They are percent-encoded there anyway; the charset
 * (no `/`, `%`, whitespace, `..`) makes a traversal or a confusing id fail here,
 * with a message, instead of as an odd 404 from a server.
 */
function idRule(
  what: string,
  example: string,
  re = SAFE_ID,
  max = 128,
  chars = 'letters, digits, ".", "_" and "-"',
): Check {
  return (v) => {
    if (v.length > max)
      return { problem: `is ${v.length} characters long (at most ${max})`, fix: `use ${what}, e.g. ${example}` };
    if (re.test(v) && !v.includes('..')) return undefined;
    return {
      problem: `${q(v)} is not a safe id for a URL path`,
      fix: `use ${chars}, starting with a letter or digit, without "..", e.g. ${example}`,
    };
  };
}
export const checkKeyId = idRule('the key id', 'key_old123', KEY_ID, 128, 'letters, digits, ".", "_", ":" and "-"');
const checkName: Check = (v) =>
  /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v)
    ? undefined
    : {
        problem: v.length > 63 ? `is ${v.length} characters long (at most 63)` : `${q(v)} is not a valid name`,
        fix: 'use 1-63 lower-case letters, digits and "-", not starting or ending with "-", e.g. corpsec-macos-2026-12',
      };
const checkText =
  (max: number): Check =>
  (v) =>
    v.trim() === ''
      ? { problem: 'is empty', fix: 'set a value or remove the key' }
      : v.length > max
        ? { problem: `is ${v.length} characters long (at most ${max})`, fix: 'shorten it' }
        : CONTROL.test(v)
          ? { problem: 'contains control characters', fix: 'use plain single-line text' }
          : undefined;
export const isHostname = (v: string): boolean =>
  v.length <= 253 && v.split('.').length >= 2 && v.split('.').every((l) => DNS_LABEL.test(l));
const checkHostname: Check = (v) =>
  isHostname(v)
    ? undefined
    : {
        problem: `${q(v)} is not a domain name`,
        fix: 'use a DNS name such as atensecurity.com, without scheme or path',
      };
const checkDomain: Check = (v) =>
  isHostname(v)
    ? undefined
    : { problem: `${q(v)} is not a reverse-DNS preference domain`, fix: 'use a form like com.atensecurity.thoth' };
const checkSettingName: Check = (v) =>
  /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(v) && v.length <= 128
    ? undefined
    : {
        problem: `${q(v)} is not a valid setting name`,
        fix: 'use letters, digits, "_", "." and "-", starting with a letter or "_", e.g. THOTH_API_KEY',
      };

/** A repository-relative path: forward slashes, no absolute path, no `..`. */
export function checkRepoPath(v: string, example: string, strictChars = false): Finding | undefined {
  const fix = `use a path relative to the repository root, with forward slashes and no "..", e.g. ${example}`;
  if (v === '' || CONTROL.test(v)) return { problem: 'is empty or contains control characters', fix };
  if (v.startsWith('/') || /^[A-Za-z]:/.test(v) || v.includes('\\'))
    return { problem: `${q(v)} is not repository-relative`, fix };
  if (v.split('/').includes('..')) return { problem: `${q(v)} leaves the repository through ".."`, fix };
  if (normaliseRepoPath(v) === '') return { problem: `${q(v)} is the repository root itself`, fix };
  if (strictChars && !/^[A-Za-z0-9._/-]+$/.test(v))
    return { problem: `${q(v)} contains characters other than letters, digits, ".", "_", "-" and "/"`, fix };
  return undefined;
}
/** `a/./b//c/` → `a/b/c`. Only for paths that passed `checkRepoPath`. */
export const normaliseRepoPath = (v: string): string =>
  v
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/** https (or http to loopback), no credentials, no query or fragment; no trailing slash. */
export function parseUrl(v: string): Parsed<string> {
  let u: URL;
  try {
    if (/\s/.test(v)) throw new Error('whitespace');
    u = new URL(v);
  } catch {
    return { problem: `${q(v)} is not an absolute URL`, fix: 'write it as https://host[/path]' };
  }
  // Never echo a URL that carries a password.
  if (u.username || u.password)
    return {
      problem: 'contains credentials',
      fix: "remove the user:password@ part; credentials come only from the action's secret inputs",
    };
  const bare = `${u.host}${u.pathname.replace(/\/+$/, '')}`;
  if (u.protocol === 'http:' && !isLoopback(u.hostname))
    return { problem: 'http is allowed only for loopback hosts', fix: `use https://${bare}` };
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    return { problem: `${q(u.protocol)} is not an allowed scheme`, fix: `use https://${bare}` };
  if (v.includes('?') || v.includes('#'))
    return { problem: 'must not have a query or fragment', fix: 'remove everything from the "?" or "#"' };
  return { value: `${u.protocol}//${bare}` };
}

function parseDurationField(v: string): Parsed<number> {
  const ms = parseDuration(v);
  if (ms !== undefined) return { value: ms };
  const why = /^-/.test(v) ? 'is negative' : /^0+(ms|s|m|h|d)?$/.test(v) ? 'is zero' : 'is not a duration';
  return { problem: `${q(v)} ${why}`, fix: `write ${DURATION_FORMAT}` };
}

/** `95%` or `0.95` → 0.95; must be in (0, 1]. */
export function parseShare(v: unknown): Parsed<number> {
  const fix = 'write a percentage above 0% and at most 100%, e.g. 95%, or a fraction such as 0.95';
  if (typeof v === 'number') {
    if (v > 0 && v <= 1) return { value: v };
    return {
      problem:
        v > 1 && v <= 100
          ? `${v} is not a fraction between 0 and 1; did you mean ${v}%?`
          : `${v} is not between 0 and 1`,
      fix,
    };
  }
  if (typeof v !== 'string') return { problem: `expected a percentage, got ${describe(v)}`, fix };
  const m = /^(\d{1,3}(?:\.\d+)?)%$/.exec(v);
  if (!m) return { problem: `${q(v)} is not a percentage`, fix };
  const p = Number(m[1]);
  if (p <= 0) return { problem: `${q(v)} is not above 0%`, fix };
  if (p > 100) return { problem: `${q(v)} is more than 100%`, fix };
  return { value: p / 100 };
}

/** How a YAML value reads in "expected X, got Y". */
export function describe(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a timestamp';
  if (ArrayBuffer.isView(v)) return 'binary data';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `a string (${q(v)})`;
  return `a ${typeof v} (${String(v)})`;
}

// ---- zod building blocks ----------------------------------------------------

const issue = (ctx: z.RefinementCtx, f: Finding): void =>
  ctx.addIssue({ code: 'custom', message: f.problem, params: { fix: f.fix } });
function parsed<T>(fn: (v: string) => Parsed<T>) {
  return z.string().transform((v, ctx): T => {
    const r = fn(v);
    if ('value' in r) return r.value;
    issue(ctx, r);
    return z.NEVER;
  });
}
const str = (check: Check) => parsed((v) => check(v) ?? { value: v });
// The .meta() hints below go only into the generated JSON Schema (schema/intent.schema.json, for
// editors): the transforms that really check a value are invisible to z.toJSONSchema.
const oneOf = <const T extends string>(values: readonly T[], noun: string) =>
  parsed(
    (v): Parsed<T> =>
      (values as readonly string[]).includes(v)
        ? { value: v as T }
        : { problem: `${q(v)} is not ${noun}`, fix: `use ${orList(values)}` },
  ).meta({ enum: [...values] });
const duration = () => parsed(parseDurationField).meta({ pattern: DURATION_PATTERN });
const url = () => parsed(parseUrl);
const instant = () =>
  parsed((v): Parsed<Date> => {
    const at = parseInstant(v);
    return at
      ? { value: at }
      : {
          problem: `${q(v)} is not an ISO-8601 time with a time zone`,
          fix: 'write e.g. 2026-12-01T14:00:00Z or 2026-12-01T15:00:00+01:00',
        };
  });
const cron = () =>
  str((v) => {
    const p = cronProblem(v);
    return p
      ? { problem: `${q(v)} ${p}`, fix: 'write 5 fields in UTC, e.g. "0 14 * * 2" for Tuesdays 14:00' }
      : undefined;
  });
const positiveInt = () =>
  z
    .number()
    .superRefine((v, ctx) => {
      if (!Number.isSafeInteger(v) || v <= 0)
        issue(ctx, {
          problem: `${v} is not a positive integer`,
          fix: 'use the numeric id shown in Jamf Pro, e.g. 123',
        });
    })
    .meta({ type: 'integer', minimum: 1 });
const share = () =>
  z
    .unknown()
    .transform((v, ctx): number => {
      const r = parseShare(v);
      if ('value' in r) return r.value;
      issue(ctx, r);
      return z.NEVER;
    })
    .meta({
      anyOf: [
        { type: 'string', pattern: '^\\d{1,3}(\\.\\d+)?%$' },
        { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      ],
    });

export const PERMISSIONS = ['read', 'write', 'execute'] as const;
const dur = (example: string) => duration().describe(`a duration such as ${example}`);
const id = (what: string, example: string) => str(idRule(what, example)).describe(`${what}, e.g. ${example}`);
const WHEN = 'an ISO-8601 time with a zone, e.g. 2026-12-01T14:00:00Z';

/** The file as written. `.describe()` texts complete "set <field> to …" in messages. */
export const intentFileSchema = z.strictObject({
  version: z
    .number()
    .superRefine((v, ctx) => {
      if (v !== 1)
        issue(ctx, {
          problem: `${v} is not a supported version`,
          fix: 'set version: 1, the only intent format this action understands',
        });
    })
    .meta({ const: 1 })
    .describe('1'),
  name: str(checkName).describe('a unique lower-case id for this rotation, e.g. corpsec-macos-2026-12'),
  ticket: str(checkText(200)).describe('the change reference, e.g. SEC-1234').optional(),
  tenant: id('your Thoth tenant id', 'acme'),
  controlPlane: z
    .strictObject({
      url: url().describe('the control-plane base URL, e.g. https://grid.acme.atensecurity.com').optional(),
      apexDomain: str(checkHostname).describe('the apex domain, e.g. atensecurity.com').optional(),
    })
    .describe('a map with url and/or apexDomain')
    .optional(),
  fleet: z
    .strictObject({
      id: id("the fleet's id", 'flt-corpsec-macos'),
      region: str(
        idRule('a region', 'us-east-1', /^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/, 32, 'letters, digits and "-"'),
      ).describe("the fleet's control-plane region, e.g. us-east-1"),
    })
    .describe('a map with id and region'),
  key: z
    .strictObject({
      scope: oneOf(['fleet', 'endpoint'], 'a key scope').describe('fleet or endpoint'),
      endpointId: str(
        idRule(
          'the endpoint id',
          'corpsec-mbp-01',
          /^[a-z0-9]+(-[a-z0-9]+)*$/,
          128,
          'lower-case letters, digits and single "-"',
        ),
      )
        .describe("the endpoint's id, e.g. corpsec-mbp-01")
        .optional(),
      permissions: z
        .array(oneOf(PERMISSIONS, 'a permission').describe('read, write or execute'))
        .describe('a list of read, write and/or execute, e.g. [read, execute]'),
      ttl: dur('90d').optional(),
    })
    .describe('a map with scope and permissions'),
  current: z
    .strictObject({ keyId: str(checkKeyId).describe('the id of the key being replaced, e.g. key_old123') })
    .describe('a map with keyId')
    .optional(),
  window: z
    .strictObject({
      start: instant().describe(WHEN).optional(),
      end: instant().describe(WHEN).optional(),
      schedule: cron().describe('a 5-field cron expression in UTC, e.g. "0 14 * * 2"').optional(),
      duration: dur('4h').optional(),
    })
    .describe('a map with start and end, or schedule and duration')
    .optional(),
  validation: z
    .strictObject({
      window: dur('24h').optional(),
      minHealthy: share().describe('a percentage such as 95%').optional(),
      activeWithin: dur('7d').optional(),
      timeout: dur('30m').optional(),
      pollInterval: dur('30s').optional(),
    })
    .describe('a map of validation settings')
    .optional(),
  mdm: z
    .strictObject({
      provider: oneOf(['jamf', 'intune'], 'an MDM provider').describe('jamf or intune'),
      jamf: z
        .strictObject({
          url: url().describe('your Jamf Pro URL, e.g. https://acme.jamfcloud.com'),
          profileId: positiveInt().describe('the numeric id of the configuration profile, e.g. 123'),
          groupId: positiveInt().describe('the numeric id of the computer group, e.g. 45'),
          healthAttribute: str(checkText(255)).describe('the extension attribute name, e.g. Thoth Health').optional(),
        })
        .describe('a map with url, profileId and groupId')
        .optional(),
      intune: z
        .strictObject({
          graphUrl: url().describe('the Graph URL, e.g. https://graph.microsoft.com').optional(),
          loginUrl: url().describe('the login URL, e.g. https://login.microsoftonline.com').optional(),
          groupId: id('the Entra group id of the target devices', '7f0c1a2b-…'),
          macos: z
            .strictObject({ configurationId: id('the macOS custom configuration id', '9a1b2c3d-…') })
            .describe('a map with configurationId')
            .optional(),
          windows: z
            .strictObject({
              remediationId: id('the remediation script id', '5b2c3d4e-…'),
              template: str((v) => checkRepoPath(v, '.thoth/templates/thoth-key.ps1')).describe(
                'the repository path of the template, e.g. .thoth/templates/thoth-key.ps1',
              ),
              // Required: Intune runs the remediation script only when the detection script exits 1
              // (memdocs intune/fundamentals/remediations.md), so without one rendered for the new key
              // id the devices would never install it.
              detectionTemplate: str((v) => checkRepoPath(v, '.thoth/templates/thoth-detect.ps1')).describe(
                'the repository path of the detection script template, e.g. .thoth/templates/thoth-detect.ps1 (Intune runs the remediation script only when the detection script exits 1)',
              ),
            })
            .describe('a map with remediationId, template and detectionTemplate')
            .optional(),
        })
        .describe('a map with groupId and macos and/or windows')
        .optional(),
      settings: z
        .strictObject({
          domain: str(checkDomain).describe('a preference domain, e.g. com.atensecurity.thoth').optional(),
          apiKey: str(checkSettingName).describe('a setting name, e.g. THOTH_API_KEY').optional(),
          keyId: str(checkSettingName).describe('a setting name, e.g. THOTH_API_KEY_ID').optional(),
          revokedKeyIds: str(checkSettingName).describe('a setting name, e.g. THOTH_REVOKED_API_KEY_IDS').optional(),
        })
        .describe('a map of setting names')
        .optional(),
    })
    .describe('a map with provider and a jamf or intune block'),
  recurrence: z
    .strictObject({
      every: dur('90d').optional(),
      before: dur('14d').optional(),
    })
    .describe('a map with every and/or before, e.g. { every: 90d, before: 14d }')
    .optional(),
  rollback: z
    .strictObject({
      onValidationFailure: oneOf(['restore', 'hold'], 'a rollback action').describe('restore or hold').optional(),
    })
    .describe('a map with onValidationFailure')
    .optional(),
  evidence: z
    .strictObject({
      path: str((v) => checkRepoPath(v, '.thoth/evidence', true))
        .describe('a repository folder, e.g. .thoth/evidence')
        .optional(),
    })
    .describe('a map with path')
    .optional(),
});
export type IntentFile = z.output<typeof intentFileSchema>;
export type PathSeg = string | number;

/** The schema node at `path` (through optional, list and transform wrappers). */
function schemaAt(path: readonly PathSeg[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = intentFileSchema;
  for (const seg of path) {
    while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
    if (node instanceof z.ZodObject && typeof seg === 'string') node = (node.shape as Record<string, z.ZodType>)[seg];
    else if (node instanceof z.ZodArray && typeof seg === 'number') node = node.element as z.ZodType;
    else return undefined;
  }
  while (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
  return node;
}
/** "the fleet's control-plane region, e.g. us-east-1" for ['fleet', 'region']. */
export const hintAt = (path: readonly PathSeg[]): string => schemaAt(path)?.description ?? 'a valid value';
/** The keys a map at `path` may have. */
export function keysAt(path: readonly PathSeg[]): string[] {
  const node = schemaAt(path);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

// ---- rules between fields ---------------------------------------------------

const SETTING_FIELDS = ['apiKey', 'keyId', 'revokedKeyIds'] as const;

/**
 * The three setting names must differ (spec §9): two settings with one name would overwrite
 * each other on the endpoint, and a key-id or revoked-ids name that is the api key's would make
 * the action read the fleet's key as a key id (issue 11). Compared case-insensitively (an
 * endpoint may read them as Windows environment variables) and with the defaults filled in;
 * reported at a name the file sets, since a defaulted one has no line to point at.
 */
function settingNameFindings(names: Record<string, unknown>): Located[] {
  const out: Located[] = [];
  const effective = SETTING_FIELDS.map((k) => ({
    k,
    v: names[k] ?? DEFAULTS.settings[k],
    set: names[k] !== undefined,
  }));
  for (let j = 1; j < effective.length; j++) {
    const b = effective[j]!;
    if (typeof b.v !== 'string') continue;
    const a = effective
      .slice(0, j)
      .find((x) => typeof x.v === 'string' && x.v.toLowerCase() === (b.v as string).toLowerCase());
    if (!a) continue;
    const [at, other] = b.set ? [b, a] : [a, b];
    out.push({
      path: ['mdm', 'settings', at.k],
      problem: `${q(at.v)} is also the name of mdm.settings.${other.k}${other.set ? '' : ' (its default)'}; the three settings must have different names`,
      fix: `name the setting that holds the ${WHAT_SETTING_HOLDS[at.k]} (default ${DEFAULTS.settings[at.k]}), different from apiKey, keyId and revokedKeyIds`,
    });
  }
  return out;
}
const WHAT_SETTING_HOLDS: Record<(typeof SETTING_FIELDS)[number], string> = {
  apiKey: 'api key',
  keyId: 'key id',
  revokedKeyIds: 'revoked key ids',
};

/** A finding at a path inside the file; `at: 'key'` points at the key, not its value. */
export interface Located extends Finding {
  readonly path: readonly PathSeg[];
  readonly at?: 'key';
}
export const isPlainMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const mapAt = (v: unknown): Record<string, unknown> => (isPlainMap(v) ? v : {});

/**
 * Rules that relate fields, run on the raw document (not zod's output) so that a
 * file with several problems reports all of them in one go. Each rule only
 * fires on values of the right type; wrong types are zod's to report.
 */
export function crossFieldFindings(doc: Record<string, unknown>): Located[] {
  const out: Located[] = [];
  const key = mapAt(doc['key']);
  if (key['scope'] === 'endpoint' && !('endpointId' in key)) {
    out.push({
      path: ['key', 'endpointId'],
      problem: 'required when key.scope is endpoint',
      fix: `set key.endpointId to ${hintAt(['key', 'endpointId'])}, or use scope: fleet`,
    });
  }
  if (key['scope'] === 'fleet' && 'endpointId' in key) {
    out.push({
      path: ['key', 'endpointId'],
      at: 'key',
      problem: 'is only allowed when key.scope is endpoint',
      fix: 'remove it, or set key.scope: endpoint for a single-endpoint key',
    });
  }
  const perms = key['permissions'];
  if (Array.isArray(perms)) {
    if (perms.length === 0)
      out.push({
        path: ['key', 'permissions'],
        problem: 'is empty',
        fix: 'list at least one of read, write, execute, e.g. [read, execute]',
      });
    perms.forEach((p, i) => {
      if (typeof p === 'string' && perms.indexOf(p) < i)
        out.push({ path: ['key', 'permissions', i], problem: `${q(p)} is listed twice`, fix: 'remove the duplicate' });
    });
  }
  if (isPlainMap(doc['window'])) out.push(...windowFindings(doc['window']));
  out.push(...recurrenceFindings(doc));

  // A poll interval longer than the timeout would never poll twice in one run.
  const val = mapAt(doc['validation']);
  const ms = (k: string, dflt: number): number | undefined =>
    val[k] === undefined ? dflt : typeof val[k] === 'string' ? parseDuration(val[k]) : undefined;
  const timeout = ms('timeout', DEFAULTS.validation.timeoutMs);
  const poll = ms('pollInterval', DEFAULTS.validation.pollIntervalMs);
  if (timeout !== undefined && poll !== undefined && poll > timeout) {
    out.push({
      path: ['validation', 'pollInterval'],
      problem: `${formatDuration(poll)} is longer than validation.timeout (${formatDuration(timeout)})`,
      fix: 'make validation.pollInterval at most validation.timeout',
    });
  }

  const mdm = mapAt(doc['mdm']);
  const provider = mdm['provider'];
  if (provider === 'jamf' || provider === 'intune') {
    const other = provider === 'jamf' ? 'intune' : 'jamf';
    if (!(provider in mdm)) {
      out.push({
        path: ['mdm', provider],
        problem: `required when mdm.provider is ${provider}`,
        fix: `add mdm.${provider}: ${hintAt(['mdm', provider])}`,
      });
    }
    if (other in mdm) {
      out.push({
        path: ['mdm', other],
        at: 'key',
        problem: `is not allowed when mdm.provider is ${provider}`,
        fix: `remove mdm.${other}, or set mdm.provider: ${other}`,
      });
    }
  }
  const intune = mdm['intune'];
  if (isPlainMap(intune) && !('macos' in intune) && !('windows' in intune)) {
    out.push({
      path: ['mdm', 'intune'],
      problem: 'has neither macos nor windows',
      fix: 'add mdm.intune.macos with configurationId, mdm.intune.windows with remediationId, template and detectionTemplate, or both',
    });
  }
  out.push(...settingNameFindings(mapAt(mdm['settings'])));

  // The default control-plane host is grid.<tenant>.<apexDomain>.
  const tenant = doc['tenant'];
  const cp = mapAt(doc['controlPlane']);
  if (cp['url'] === undefined && typeof tenant === 'string' && SAFE_ID.test(tenant) && !DNS_LABEL.test(tenant)) {
    out.push({
      path: ['tenant'],
      problem: `${q(tenant)} cannot be a host name label in the default control-plane URL https://grid.<tenant>.<apexDomain>`,
      fix: "set controlPlane.url to the control plane's address",
    });
  }
  return out;
}

/**
 * A recurring intent (spec §10) needs a rule to measure the deployed key by, and a window that
 * opens again and again: a one-off start/end would let the policy rotate once and never again.
 */
function recurrenceFindings(doc: Record<string, unknown>): Located[] {
  if (!isPlainMap(doc['recurrence'])) return [];
  const r = doc['recurrence'];
  const out: Located[] = [];
  if (!('every' in r) && !('before' in r)) {
    out.push({
      path: ['recurrence'],
      problem: 'has neither every nor before',
      fix: 'set recurrence.every (rotate when the deployed key is this old, e.g. 90d) and/or recurrence.before (rotate when it expires within this, e.g. 14d)',
    });
  }
  const w = mapAt(doc['window']);
  const once = ['start', 'end'].find((k) => k in w);
  if (once) {
    out.push({
      path: ['window', once],
      at: 'key',
      problem:
        'is a one-off window, which a recurring intent (recurrence) cannot use: its policy would rotate once and never again',
      fix: 'replace window.start and window.end with window.schedule (5-field cron, UTC, e.g. "0 14 * * 2") and window.duration (e.g. 4h), or remove recurrence for a one-off rotation',
    });
  }
  return out;
}
