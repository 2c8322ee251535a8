import * as core from '@actions/core';
import type { ConfigProblem } from './errors.js';
import { ConfigError } from './errors.js';
import { AllowedHosts } from './http/allowed-hosts.js';
import { checkKeyId, checkRepoPath, q } from './intent/schema.js';
import { registerSecret } from './secrets.js';
import { DURATION_FORMAT, parseDuration } from './time/duration.js';

/**
 * The action's inputs (spec §3), read once, checked together and frozen.
 * A problem names the input; a secret's value never appears in a message.
 */
export interface Settings {
  /** What this run does: `plan` (read only), `apply` (rotate), `revoke` (emergency) or `verify` (re-check evidence, read only). */
  readonly mode: 'plan' | 'apply' | 'revoke' | 'verify';
  /** Intent file or folder, repository-relative as given (resolve it against the workspace). */
  readonly intents: string;
  /** Hosts credentials may be sent to (`allowed-hosts`, spec §9); the default list when the input is empty. */
  readonly allowedHosts: AllowedHosts;
  /** Control-plane credential: `X-Api-Key` (`api-key`) or `Authorization: Bearer` (`bearer`). */
  readonly thoth: { readonly kind: 'api-key' | 'bearer'; readonly value: string };
  /** Jamf Pro API client; present only when both id and secret were given. */
  readonly jamf?: { readonly clientId: string; readonly clientSecret: string };
  /** Entra app for Microsoft Graph; present only when all three inputs were given. */
  readonly azure?: { readonly tenantId: string; readonly clientId: string; readonly clientSecret: string };
  /** Token for evidence commits; absent when the input is empty. */
  readonly githubToken?: string;
  /** Branch for evidence commits; absent means the repository's default branch. */
  readonly evidenceBranch?: string;
  /** `revoke` mode: the key ids to revoke, trimmed and de-duplicated (empty otherwise). */
  readonly keyIds: string[];
  /** `revoke` mode: why, recorded in the evidence. */
  readonly reason?: string;
  /** `revoke` mode: rotate first when a revoked key is the deployed one. */
  readonly replace: boolean;
  /** Whether to set the masked `api-key` output. */
  readonly exposeKey: boolean;
  /** Self-imposed Intune write budget: at most `writes` per `windowMs`. */
  readonly graphWriteBudget: { readonly writes: number; readonly windowMs: number };
  /** 32-byte AES-256-GCM key for sealing the pre-change MDM configuration. */
  readonly rollbackSealKey?: Buffer;
  /** `evidence-hmac-key` (≥ 32 bytes): every record carries an HMAC-SHA256 over its chain head made with it. */
  readonly evidenceHmacKey?: Buffer;
}

/** Inputs that carry a secret: masked the moment they are read. */
export const SECRET_INPUTS = [
  'thoth-api-key',
  'thoth-bearer-token',
  'jamf-client-secret',
  'azure-client-secret',
  'github-token',
  'rollback-seal-key',
  'evidence-hmac-key',
];

/** Why an empty credential is so common, after google-github-actions/auth's `secretsWarning`. */
const SECRETS_WARNING =
  'GitHub does not pass repository secrets to workflows triggered from a fork or by Dependabot, so an input set from a secret is empty there';

/**
 * Reads and checks every input. `env` defaults to `process.env`, read through
 * `core.getInput` (`INPUT_<NAME>`, upper-cased, hyphens kept, value trimmed).
 * Throws one ConfigError (file `inputs`) listing every problem.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const input = (name: string): string =>
    env === process.env ? core.getInput(name) : (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
  // Mask first: any check below may throw, and nothing may print a secret before it is masked.
  for (const name of SECRET_INPUTS) registerSecret(input(name));

  const problems: ConfigProblem[] = [];
  const bad = (field: string, problem: string, fix: string): void =>
    void problems.push({ file: 'inputs', field, problem, fix });

  const modeText = input('mode') || 'plan';
  const mode = (['plan', 'apply', 'revoke', 'verify'] as const).find((m) => m === modeText);
  if (!mode) bad('mode', `${q(modeText)} is not a mode`, 'use plan, apply, revoke or verify');

  const apiKey = input('thoth-api-key');
  const bearer = input('thoth-bearer-token');
  if (apiKey && bearer)
    bad(
      'thoth-bearer-token',
      'is set together with thoth-api-key',
      'pass exactly one of thoth-api-key and thoth-bearer-token',
    );
  if (!apiKey && !bearer) {
    bad(
      'thoth-api-key',
      'neither thoth-api-key nor thoth-bearer-token is set',
      `pass one of them from a secret, e.g. thoth-api-key: \${{ secrets.THOTH_API_KEY }}; ${SECRETS_WARNING}`,
    );
  }

  const jamf = together(input, bad, ['jamf-client-id', 'jamf-client-secret']);
  const azure = together(input, bad, ['azure-tenant-id', 'azure-client-id', 'azure-client-secret']);
  for (const name of ['azure-tenant-id', 'azure-client-id']) {
    // Both end up in URL paths or token requests; a stray "/" would change the URL.
    const v = input(name);
    if (v && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v))
      bad(
        name,
        `${q(v)} is not an Entra id`,
        'use the GUID (or verified domain, for the tenant) shown in the Entra admin center',
      );
  }

  const branch = input('evidence-branch');
  if (branch && !isBranchName(branch))
    bad(
      'evidence-branch',
      `${q(branch)} is not a valid branch name`,
      'use a branch name such as main or thoth-evidence',
    );

  const replace = bool(input, bad, 'replace', true);
  const exposeKey = bool(input, bad, 'expose-key', false);
  const graphWriteBudget = budget(input('graph-write-budget') || '200/20s', bad);
  const rollbackSealKey = sealKey(input('rollback-seal-key'), bad);
  const evidenceHmacKey = hmacKey(input('evidence-hmac-key'), bad);

  // Where credentials and files may come from (spec §9): a pull request must not choose either.
  const intents = input('intents') || '.thoth/rotations';
  const intentsPath = checkRepoPath(intents, '.thoth/rotations');
  if (intentsPath) bad('intents', intentsPath.problem, intentsPath.fix);
  const allowed = AllowedHosts.parse(input('allowed-hosts'));
  for (const p of allowed.problems) bad('allowed-hosts', p.problem, p.fix);

  // revoke-only inputs: outside revoke they would be silently ignored, which hides a mistake.
  const keyIds = [
    ...new Set(
      input('key-ids')
        .split(/[,\r\n]/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const reason = input('reason');
  if (mode === 'revoke') {
    if (keyIds.length === 0)
      bad('key-ids', 'required in revoke mode', 'list the key ids to revoke, comma or newline separated');
    for (const id of keyIds) {
      const f = checkKeyId(id);
      if (f) bad('key-ids', f.problem.startsWith('"') ? f.problem : `${q(id)} ${f.problem}`, f.fix);
    }
    if (!reason)
      bad('reason', 'required in revoke mode', 'say why the keys are revoked; it is recorded in the evidence');
    else if (reason.length > 1000)
      bad(
        'reason',
        `is ${reason.length} characters long (at most 1000)`,
        'shorten it and link the incident ticket instead',
      );
  } else if (mode) {
    if (keyIds.length > 0)
      bad('key-ids', `is only used in revoke mode, not ${mode}`, 'remove key-ids, or set mode: revoke');
    if (reason) bad('reason', `is only used in revoke mode, not ${mode}`, 'remove reason, or set mode: revoke');
  }

  if (problems.length > 0 || !mode) throw new ConfigError(problems);
  const githubToken = input('github-token');
  return Object.freeze({
    mode,
    intents,
    allowedHosts: allowed.hosts,
    thoth: Object.freeze(
      apiKey ? { kind: 'api-key' as const, value: apiKey } : { kind: 'bearer' as const, value: bearer },
    ),
    ...(jamf && { jamf: Object.freeze({ clientId: jamf[0]!, clientSecret: jamf[1]! }) }),
    ...(azure && { azure: Object.freeze({ tenantId: azure[0]!, clientId: azure[1]!, clientSecret: azure[2]! }) }),
    ...(githubToken && { githubToken }),
    ...(branch && { evidenceBranch: branch }),
    keyIds,
    ...(mode === 'revoke' && { reason }),
    replace: replace ?? true,
    exposeKey: exposeKey ?? false,
    graphWriteBudget: Object.freeze(graphWriteBudget ?? { writes: 200, windowMs: 20_000 }),
    ...(rollbackSealKey && { rollbackSealKey }),
    ...(evidenceHmacKey && { evidenceHmacKey }),
  });
}

type Bad = (field: string, problem: string, fix: string) => void;

/** Values of inputs that only work as a group, or undefined when none is set. */
function together(input: (n: string) => string, bad: Bad, names: string[]): string[] | undefined {
  const values = names.map(input);
  if (values.every((v) => v === '')) return undefined;
  const missing = names.filter((_, i) => values[i] === '');
  if (missing.length === 0) return values;
  for (const m of missing)
    bad(
      m,
      `is empty but ${names.filter((n) => !missing.includes(n)).join(' and ')} ${names.length - missing.length === 1 ? 'is' : 'are'} set`,
      `pass ${names.join(', ')} together; ${SECRETS_WARNING}`,
    );
  return undefined;
}

/** YAML 1.2 core booleans only, like core.getBooleanInput; anything else is a mistake, not `false`. */
function bool(input: (n: string) => string, bad: Bad, name: string, dflt: boolean): boolean | undefined {
  const v = input(name);
  if (v === '') return dflt;
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  bad(name, `${q(v)} is not a boolean`, 'use true or false');
  return undefined;
}

function budget(v: string, bad: Bad): { writes: number; windowMs: number } | undefined {
  const m = /^(\d+)\/(.+)$/.exec(v);
  const writes = m ? Number(m[1]) : NaN;
  const windowMs = m ? parseDuration(m[2]!) : undefined;
  if (Number.isSafeInteger(writes) && writes > 0 && windowMs !== undefined) return { writes, windowMs };
  bad(
    'graph-write-budget',
    `${q(v)} is not <writes>/<duration>`,
    `write a positive whole number of writes, "/", and ${DURATION_FORMAT}; Intune allows 200/20s per app`,
  );
  return undefined;
}

/** Buffer.from(…, 'base64') skips junk silently; insist on canonical base64. */
function base64(v: string): Buffer | undefined {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0 ? Buffer.from(v, 'base64') : undefined;
}

function sealKey(v: string, bad: Bad): Buffer | undefined {
  if (v === '') return undefined;
  const key = base64(v);
  if (key?.length === 32) return key;
  bad(
    'rollback-seal-key',
    key ? `decodes to ${key.length} bytes, not 32` : 'is not base64',
    'generate one with `openssl rand -base64 32` and pass it from a secret',
  );
  return undefined;
}

/** HMAC-SHA256 takes any length; fewer than 32 bytes would be weaker than the hash it seals. */
function hmacKey(v: string, bad: Bad): Buffer | undefined {
  if (v === '') return undefined;
  const key = base64(v);
  if (key && key.length >= 32) return key;
  bad(
    'evidence-hmac-key',
    key ? `decodes to ${key.length} bytes, fewer than 32` : 'is not base64',
    'generate one with `openssl rand -base64 32` and pass it from a secret; every job that writes evidence needs the same key',
  );
  return undefined;
}

/** The subset of `git check-ref-format` that matters for a branch given as input. */
function isBranchName(b: string): boolean {
  return (
    b.length <= 255 &&
    !/[\u0000-\u0020\u007f~^:?*[\\]/.test(b) &&
    !b.includes('..') &&
    !b.includes('@{') &&
    !b.includes('//') &&
    !b.startsWith('/') &&
    !b.startsWith('-') &&
    !b.endsWith('/') &&
    !b.endsWith('.') &&
    !b.endsWith('.lock') &&
    b !== '@'
  );
}
