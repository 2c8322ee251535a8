import type { PlistValue } from 'plist';
import { parsePlist } from '../sim/payloads.js';

/**
 * The leak scanner of spec §4: no secret, in raw, base64 (std and url-safe),
 * URL-encoded (encodeURIComponent and form-urlencoded) or JSON-escaped form, may appear in anything a run leaves behind.
 * `::add-mask::` lines are the one place a secret is meant to be written.
 */
export function secretVariants(secret: string): readonly string[] {
  let forms = variantsOf.get(secret);
  // Frozen: the cached forms are shared by every later scan of this test file.
  if (forms === undefined) variantsOf.set(secret, (forms = Object.freeze(encodedForms(secret))));
  return forms;
}

// The guard scans after every test, and a simulator's secrets and profile versions outlive many
// runs: each secret's forms and each profile's strings are worked out once per test file.
const variantsOf = new Map<string, readonly string[]>();
const stringsOfPlist = new Map<string, readonly PlistValue[]>();

function encodedForms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  // Form-urlencoded as URLSearchParams writes it (space '+', '~' '%7E'): how a client secret travels in a token request.
  const form = new URLSearchParams([['', secret]]).toString().slice(1);
  return [
    ...new Set([
      secret,
      b64,
      b64.replace(/=+$/, ''),
      Buffer.from(secret).toString('base64url'),
      encodeURIComponent(secret),
      form,
      JSON.stringify(secret).slice(1, -1),
    ]),
  ];
}

export interface Leak {
  readonly where: string;
  readonly form: string;
}

export function findLeaks(sources: Record<string, string>, secrets: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  const unique = new Set(secrets);
  for (const [where, raw] of Object.entries(sources)) {
    const text = raw
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const s of unique) {
      if (s.length < 8) continue;
      for (const v of secretVariants(s)) {
        if (text.includes(v)) leaks.push({ where, form: v === s ? 'raw' : `${v.slice(0, 6)}…` });
      }
    }
  }
  return leaks;
}

/**
 * Settings of the simulators' own profiles that are public configuration, not values an intent
 * could exfiltrate: the tenant, the apex domain (both appear in URLs and messages), the path of
 * the revoked-ids file, the enforcement mode and the updater channel.
 */
export const PUBLIC_SETTINGS: ReadonlySet<string> = new Set([
  'THOTH_TENANT_ID',
  'THOTH_APEX_DOMAIN',
  'THOTH_REVOKED_API_KEY_IDS_FILE',
  'THOTH_ENFORCEMENT_MODE',
  'UpdateChannel',
]);

/**
 * Spec §9 "What is printed", as the leak guard sees it: every string an MDM configuration holds
 * is secret unless it is a key id the tenant lists. The intent chooses which setting the action
 * reads, so any of them (an e-mail address, another payload's password, the api key itself)
 * could be read as "the key id": a guard that knew only credentials would miss all but the key.
 * `plists` are mobileconfig texts (every version a simulator held), `scripts` the remediation
 * scripts' values as an endpoint reads them.
 */
export function configurationSecrets(
  plists: readonly string[],
  scripts: readonly { apiKey: string; keyId: string; revoked: string[] }[],
  tenantKeyIds: ReadonlySet<string>,
): string[] {
  const out = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string' && !tenantKeyIds.has(v.trim())) out.add(v);
    else if (Array.isArray(v)) v.forEach(add);
  };
  for (const p of plists) {
    let values = stringsOfPlist.get(p);
    if (values === undefined) stringsOfPlist.set(p, (values = Object.freeze(settingValues(parsePlist(p)))));
    values.forEach(add);
  }
  for (const s of scripts) [s.apiKey, s.keyId, s.revoked].forEach(add);
  return [...out];
}

/** The value of every non-public managed setting in a parsed profile (strings and lists of them). */
function settingValues(root: PlistValue | undefined): PlistValue[] {
  const values: PlistValue[] = [];
  const walk = (node: PlistValue | undefined, depth: number): void => {
    if (depth > 32 || node === null || typeof node !== 'object' || node instanceof Date || node instanceof Uint8Array)
      return;
    if (Array.isArray(node)) return node.forEach((n) => walk(n, depth + 1));
    for (const [k, v] of Object.entries(node)) {
      if (k === 'mcx_preference_settings' && v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [name, value] of Object.entries(v as Record<string, PlistValue>))
          if (!PUBLIC_SETTINGS.has(name)) values.push(value);
      } else walk(v, depth + 1);
    }
  };
  walk(root, 0);
  return values;
}
