/**
 * The Windows remediation package (spec mdm.md "How the key reaches an endpoint"): two
 * repository templates with `{{THOTH_API_KEY}}`, `{{THOTH_API_KEY_ID}}` and
 * `{{THOTH_REVOKED_API_KEY_IDS}}` filled in. Values are restricted to a charset that needs
 * no quoting in PowerShell, JSON or anywhere else, so rendering is plain substitution and a
 * value can never break out of the string it is placed in.
 *
 * The two scripts differ in what they may carry. Intune runs the remediation script only when
 * the detection script exits 1 (memdocs intune/fundamentals/remediations.md, "Script
 * requirements"), so the detection script needs the expected key id and revoked ids to decide;
 * it never needs the key itself, and a template that puts `{{THOTH_API_KEY}}` in it is refused:
 * one copy of the secret in the tenant (the remediation script) instead of two, and detection
 * output, which Intune reports back, can never echo it.
 */
import { registerSecret } from '../secrets.js';
import type { ManagedValues } from './provider.js';
import { ReadValue } from './read-value.js';

export type { ManagedValues } from './provider.js';

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
type Field = keyof typeof PLACEHOLDERS;
/** Placeholder text → the field it stands for. */
const FIELD = new Map(Object.entries(PLACEHOLDERS).map(([f, p]) => [p as string, f as Field]));
/** Any placeholder (whole, braces included, so no placeholder is a prefix of another). */
const TOKEN = new RegExp([...FIELD.keys()].map((p) => p.replace(/[{}]/g, '\\$&')).join('|'), 'g');

/** Which of the two scripts of the remediation a template renders. */
export type ScriptKind = 'remediation' | 'detection';
const NEEDS: Record<ScriptKind, readonly Field[]> = {
  // Without all three, a rotation or an emergency revocation would silently not reach Windows.
  remediation: ['apiKey', 'keyId', 'revokedKeyIds'],
  // Without the id the script cannot tell an old installation from a current one; without the
  // revoked ids, a revocation that keeps the key id (no replacement) would never re-run it.
  detection: ['keyId', 'revokedKeyIds'],
};
const FORBIDS: Record<ScriptKind, readonly Field[]> = { remediation: [], detection: ['apiKey'] };
const NAME: Record<ScriptKind, string> = { remediation: 'Windows template', detection: 'Windows detection template' };

/** The placeholders a template of this kind lacks. */
export function missingPlaceholders(template: string, kind: ScriptKind): string[] {
  return NEEDS[kind].map((f) => PLACEHOLDERS[f]).filter((p) => !template.includes(p));
}

/** The placeholders a template of this kind must not hold (the key, in a detection script). */
export function forbiddenPlaceholders(template: string, kind: ScriptKind): string[] {
  return FORBIDS[kind].map((f) => PLACEHOLDERS[f]).filter((p) => template.includes(p));
}
/** CRLF/CR → LF and no BOM: the comparison must not depend on how git checked the file out. */
const normalise = (s: string): string => s.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');

function checkTemplate(template: string, kind: ScriptKind): void {
  if (typeof template !== 'string' || template.length > MAX_SCRIPT_CHARS) {
    throw new WindowsTemplateError(`${NAME[kind]} must be text of at most ${MAX_SCRIPT_CHARS} characters`);
  }
  const missing = missingPlaceholders(template, kind);
  if (missing.length > 0)
    throw new WindowsTemplateError(`${NAME[kind]} lacks the placeholder(s) ${missing.join(', ')}`);
  const forbidden = forbiddenPlaceholders(template, kind);
  if (forbidden.length > 0)
    throw new WindowsTemplateError(
      `${NAME[kind]} holds ${forbidden.join(', ')}; the detection script needs only the key id and the revoked ids`,
    );
  const ambiguous = ambiguousPlaceholder(template);
  if (ambiguous)
    throw new WindowsTemplateError(
      `${NAME[kind]}: ${ambiguous}; put a quote or a space after it so its value can be read back`,
    );
}

/** `["key_a","key_b"]`: compact JSON, safe inside single- or double-quoted PowerShell strings. */
const renderIds = (ids: readonly string[]): string => `[${ids.map((i) => `"${i}"`).join(',')}]`;

/** What a detection script is rendered with: the ids, never the key. */
export type DetectionValues = Omit<ManagedValues, 'apiKey'>;

/**
 * Renders the remediation template: every placeholder occurrence is replaced; the revoked ids
 * become a compact JSON array string. Values must match `^[A-Za-z0-9_.:-]+$`, otherwise this throws.
 */
export function renderTemplate(template: string, values: ManagedValues): string {
  registerSecret(values.apiKey);
  if (!VALUE.test(values.apiKey)) {
    throw new WindowsTemplateError(
      'the api key contains characters outside [A-Za-z0-9_.:-]; it cannot be placed in the script safely',
    );
  }
  return render(template, 'remediation', values);
}

/** Renders the detection template: the key id and revoked ids, as {@link renderTemplate} does. */
export function renderDetectionTemplate(template: string, values: DetectionValues): string {
  return render(template, 'detection', { apiKey: '', keyId: values.keyId, revokedKeyIds: values.revokedKeyIds });
}

function render(template: string, kind: ScriptKind, values: ManagedValues): string {
  checkTemplate(template, kind);
  // Named by position, never quoted: revoked ids are written back as read, and a read value is
  // shown only once the control plane lists it (read-value.ts).
  if (!VALUE.test(values.keyId))
    throw new WindowsTemplateError('the key id contains characters outside [A-Za-z0-9_.:-]');
  values.revokedKeyIds.forEach((v, i) => {
    if (!VALUE.test(v))
      throw new WindowsTemplateError(`revoked key id ${i + 1} contains characters outside [A-Za-z0-9_.:-]`);
  });
  const rendered: Record<Field, string> = {
    apiKey: values.apiKey,
    keyId: values.keyId,
    revokedKeyIds: renderIds(values.revokedKeyIds),
  };
  // One pass over the template: a value can never be re-scanned as a placeholder.
  return template.replace(TOKEN, (token) => rendered[FIELD.get(token)!]);
}

type Part = { readonly literal: string } | { readonly field: Field };

/** The template as literal text and placeholders, line endings normalised. */
function partsOf(template: string): Part[] {
  const tpl = normalise(template);
  const parts: Part[] = [];
  let last = 0;
  for (const m of tpl.matchAll(TOKEN)) {
    if (m.index > last) parts.push({ literal: tpl.slice(last, m.index) });
    parts.push({ field: FIELD.get(m[0])! });
    last = m.index + m[0].length;
  }
  if (last < tpl.length) parts.push({ literal: tpl.slice(last) });
  return parts;
}

/** [A-Za-z0-9_.:-], the value charset, by code unit. */
const isValueChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  c === 0x5f ||
  c === 0x2e ||
  c === 0x3a ||
  c === 0x2d;

/** Length of the run of value characters at `at`. */
function valueRun(s: string, at: number): number {
  let i = at;
  while (i < s.length && isValueChar(s.charCodeAt(i))) i++;
  return i - at;
}

/**
 * Why the values of a script rendered from `template` could not be read back unambiguously,
 * or undefined. The api key and key id are runs of [A-Za-z0-9_.:-]; when such a placeholder
 * is followed by another one or by a character a value may contain (`{{THOTH_API_KEY}}{{THOTH_API_KEY_ID}}`,
 * `{{THOTH_API_KEY_ID}}-x`), nothing tells where its value ends.
 */
export function ambiguousPlaceholder(template: string): string | undefined {
  const parts = partsOf(template);
  for (const [i, p] of parts.entries()) {
    if (!('field' in p) || p.field === 'revokedKeyIds') continue;
    const next = parts[i + 1];
    if (next && 'field' in next && next.field !== 'revokedKeyIds')
      return `${PLACEHOLDERS[p.field]} is directly followed by ${PLACEHOLDERS[next.field]}`;
    if (next && 'literal' in next && isValueChar(next.literal.charCodeAt(0))) {
      return `${PLACEHOLDERS[p.field]} is directly followed by "${next.literal[0]}", a character a value may contain`;
    }
  }
  return undefined;
}

/** End of a compact JSON array of ids (`[]`, `["a","b"]`) starting at `at`, or -1. */
function idListEnd(s: string, at: number): number {
  if (s[at] !== '[') return -1;
  let i = at + 1;
  if (s[i] === ']') return i + 1;
  for (;;) {
    if (s[i] !== '"') return -1;
    const n = valueRun(s, i + 1);
    if (n === 0 || s[i + 1 + n] !== '"') return -1;
    i += n + 2;
    if (s[i] === ']') return i + 1;
    if (s[i] !== ',') return -1;
    i++;
  }
}

/** What {@link readRenderedValues} found: the api key masked, the ids opaque until released. */
export interface RenderedValues {
  apiKey: string;
  keyId: ReadValue;
  revokedKeyIds: ReadValue[];
}

/** What {@link readDetectionValues} found: the ids a detection script compares with, opaque. */
export type DetectedValues = Omit<RenderedValues, 'apiKey'>;

/**
 * Inverse of {@link renderTemplate}: matches `script` against the template (literal text
 * literal, a value at each placeholder, repeated placeholders required to agree, line
 * endings normalised) and returns the values, or undefined when the script was not
 * rendered from this template. The api key is masked as soon as it is read. The ids come
 * back opaque: the template is a repository file a pull request can edit, so what sits at
 * `{{THOTH_API_KEY_ID}}` may be the deployed key itself.
 *
 * One left-to-right pass over the script (it comes from the MDM, up to 1 MiB): because no
 * key or key-id placeholder is followed by a value character (see ambiguousPlaceholder), a
 * value is exactly the run of value characters where it starts; a regex built from the
 * template could backtrack over every split of adjacent runs instead.
 */
export function readRenderedValues(template: string, script: string): RenderedValues | undefined {
  const v = readValues(template, script, 'remediation');
  return v?.apiKey === undefined ? undefined : { apiKey: v.apiKey, keyId: v.keyId, revokedKeyIds: v.revokedKeyIds };
}

/** {@link readRenderedValues} for a detection script: the key id and revoked ids it was rendered with. */
export function readDetectionValues(template: string, script: string): DetectedValues | undefined {
  const v = readValues(template, script, 'detection');
  return v && { keyId: v.keyId, revokedKeyIds: v.revokedKeyIds };
}

function readValues(
  template: string,
  script: string,
  kind: ScriptKind,
): (DetectedValues & { apiKey?: string }) | undefined {
  checkTemplate(template, kind);
  if (typeof script !== 'string' || script.length > MAX_SCRIPT_CHARS) return undefined;
  const text = normalise(script);
  const got: Partial<Record<Field, string>> = {};
  let at = 0;
  for (const part of partsOf(template)) {
    if ('literal' in part) {
      if (!text.startsWith(part.literal, at)) return undefined;
      at += part.literal.length;
      continue;
    }
    const end = part.field === 'revokedKeyIds' ? idListEnd(text, at) : at + valueRun(text, at);
    if (end <= at) return undefined;
    const value = text.slice(at, end);
    if (part.field === 'apiKey') registerSecret(value);
    if (got[part.field] !== undefined && got[part.field] !== value) return undefined;
    got[part.field] = value;
    at = end;
  }
  if (at !== text.length || got.keyId === undefined || got.revokedKeyIds === undefined) return undefined;
  const ids = JSON.parse(got.revokedKeyIds) as string[];
  return {
    ...(got.apiKey !== undefined ? { apiKey: got.apiKey } : {}),
    keyId: new ReadValue(got.keyId, PLACEHOLDERS.keyId),
    revokedKeyIds: ids.map((id) => new ReadValue(id, PLACEHOLDERS.revokedKeyIds)),
  };
}
