/**
 * The Windows remediation script (spec mdm.md "How the key reaches an endpoint"): the
 * repository's template with `{{THOTH_API_KEY}}`, `{{THOTH_API_KEY_ID}}` and
 * `{{THOTH_REVOKED_API_KEY_IDS}}` filled in. Values are restricted to a charset that needs
 * no quoting in PowerShell, JSON or anywhere else, so rendering is plain substitution and a
 * value can never break out of the string it is placed in.
 */
import { registerSecret } from '../secrets.js';
import type { ManagedValues } from './mobileconfig.js';
import { ReadValue } from './read-value.js';

export type { ManagedValues } from './mobileconfig.js';

/** The template or a value is unusable. Messages never quote the api key. */
export class WindowsTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WindowsTemplateError';
  }
}

export const PLACEHOLDERS = {
  apiKey: '{{THOTH_API_KEY}}',
  keyId: '{{THOTH_API_KEY_ID}}',
  revokedKeyIds: '{{THOTH_REVOKED_API_KEY_IDS}}',
} as const;

/** Scripts are small; Intune stores them base64 in a JSON body. */
export const MAX_SCRIPT_CHARS = 1024 * 1024;
const VALUE_CLASS = '[A-Za-z0-9_.:-]';
const VALUE = new RegExp(`^${VALUE_CLASS}+$`);
const TOKEN = /\{\{(THOTH_API_KEY|THOTH_API_KEY_ID|THOTH_REVOKED_API_KEY_IDS)\}\}/g;
type Field = keyof typeof PLACEHOLDERS;
const FIELD: Record<string, Field> = {
  THOTH_API_KEY: 'apiKey',
  THOTH_API_KEY_ID: 'keyId',
  THOTH_REVOKED_API_KEY_IDS: 'revokedKeyIds',
};

/** CRLF/CR → LF and no BOM: the comparison must not depend on how git checked the file out. */
const normalise = (s: string): string => s.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');

function checkTemplate(template: string): void {
  if (typeof template !== 'string' || template.length > MAX_SCRIPT_CHARS) {
    throw new WindowsTemplateError(`Windows template must be text of at most ${MAX_SCRIPT_CHARS} characters`);
  }
  const missing = Object.values(PLACEHOLDERS).filter((p) => !template.includes(p));
  if (missing.length > 0) {
    // Without all three, a rotation or an emergency revocation would silently not reach Windows.
    throw new WindowsTemplateError(`Windows template lacks the placeholder(s) ${missing.join(', ')}`);
  }
}

/** `["key_a","key_b"]`: compact JSON, safe inside single- or double-quoted PowerShell strings. */
const renderIds = (ids: readonly string[]): string => `[${ids.map((i) => `"${i}"`).join(',')}]`;

/**
 * Renders the template: every placeholder occurrence is replaced; the revoked ids become a
 * compact JSON array string. Values must match `^[A-Za-z0-9_.:-]+$`, otherwise this throws.
 */
export function renderTemplate(template: string, values: ManagedValues): string {
  registerSecret(values.apiKey);
  checkTemplate(template);
  if (!VALUE.test(values.apiKey)) {
    throw new WindowsTemplateError('the api key contains characters outside [A-Za-z0-9_.:-]; it cannot be placed in the script safely');
  }
  // Named by position, never quoted: revoked ids are written back as read, and a read value is
  // shown only once the control plane lists it (read-value.ts).
  if (!VALUE.test(values.keyId)) throw new WindowsTemplateError('the key id contains characters outside [A-Za-z0-9_.:-]');
  values.revokedKeyIds.forEach((v, i) => {
    if (!VALUE.test(v)) throw new WindowsTemplateError(`revoked key id ${i + 1} contains characters outside [A-Za-z0-9_.:-]`);
  });
  const rendered: Record<Field, string> = {
    apiKey: values.apiKey,
    keyId: values.keyId,
    revokedKeyIds: renderIds(values.revokedKeyIds),
  };
  // One pass over the template: a value can never be re-scanned as a placeholder.
  return template.replace(TOKEN, (_m, name: string) => rendered[FIELD[name]!]);
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const GROUP: Record<Field, string> = {
  apiKey: `${VALUE_CLASS}+`,
  keyId: `${VALUE_CLASS}+`,
  revokedKeyIds: `\\[(?:"${VALUE_CLASS}+"(?:,"${VALUE_CLASS}+")*)?\\]`,
};

/** What {@link readRenderedValues} found: the api key masked, the ids opaque until released. */
export interface RenderedValues {
  apiKey: string;
  keyId: ReadValue;
  revokedKeyIds: ReadValue[];
}

/**
 * Inverse of {@link renderTemplate}: matches `script` against the template (literal text
 * literal, a capture at each placeholder, repeated placeholders required to agree, line
 * endings normalised) and returns the values, or undefined when the script was not
 * rendered from this template. The api key is masked as soon as it is captured. The ids come
 * back opaque: the template is a repository file a pull request can edit, so what sits at
 * `{{THOTH_API_KEY_ID}}` may be the deployed key itself.
 */
export function readRenderedValues(template: string, script: string): RenderedValues | undefined {
  checkTemplate(template);
  if (typeof script !== 'string' || script.length > MAX_SCRIPT_CHARS) return undefined;
  const tpl = normalise(template);
  const seen = new Set<Field>();
  let pattern = '';
  let last = 0;
  for (const m of tpl.matchAll(TOKEN)) {
    const field = FIELD[m[1]!]!;
    pattern += escapeRegex(tpl.slice(last, m.index));
    pattern += seen.has(field) ? `\\k<${field}>` : `(?<${field}>${GROUP[field]})`;
    seen.add(field);
    last = m.index + m[0].length;
  }
  pattern += escapeRegex(tpl.slice(last));
  const match = new RegExp(`^${pattern}$`, 'u').exec(normalise(script));
  const g = match?.groups;
  if (!g || g.apiKey === undefined || g.keyId === undefined || g.revokedKeyIds === undefined) return undefined;
  registerSecret(g.apiKey);
  const ids = JSON.parse(g.revokedKeyIds) as string[];
  return {
    apiKey: g.apiKey,
    keyId: new ReadValue(g.keyId, PLACEHOLDERS.keyId),
    revokedKeyIds: ids.map((id) => new ReadValue(id, PLACEHOLDERS.revokedKeyIds)),
  };
}
