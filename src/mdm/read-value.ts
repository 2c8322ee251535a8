import { registerSecret } from '../secrets.js';

/** What an unreleased value prints as, wherever it ends up by mistake. */
export const UNRECOGNISED = 'an unrecognised value';

/**
 * A string read from an MDM configuration: the key-id setting, an entry of the revoked-ids
 * setting, a value of the Windows remediation script. The intent chooses which setting is
 * read (`mdm.settings`), and the repository's template decides where the script's values
 * sit, so the string may be anything the configuration holds: the fleet's api key, another
 * payload's password, an e-mail address (issue 11, spec §9 "What is printed").
 *
 * So it is opaque. The text sits in a private field; `toString`, `toJSON` and `inspect` give
 * a placeholder; equality is asked with {@link ReadValue.is} without exposing anything. The
 * text comes out in two ways only:
 *  - {@link ReadValue.release}: the control plane's own id, when the tenant lists a key with
 *    exactly this id (active or not). Otherwise the value is masked (registerSecret) before
 *    `release` returns, and stays opaque.
 *  - {@link ReadValue.toMdm}: to write the value back into the configuration it came from
 *    (the revoked list is kept across writes). A unit test keeps every other caller out.
 *
 * Why a value is not masked the moment it is parsed, as the api key is: a legitimate key id
 * is meant to be shown (summary, `rotations` output, evidence), and a masked id would read
 * `***` in every later line, the new key's rotation included. Why the time between the parse
 * and `release` is still safe: no code can get at the text in between, so no line printed in
 * that time can contain it, whatever the order of log lines; and `release` registers an
 * unrecognised value before it returns, so its caller (which reports the problem) and
 * everything after it already run with the value masked.
 */
export class ReadValue {
  readonly #text: string;
  /** Where it was read, for messages: a setting name (chosen by the intent) and the document. */
  readonly source: string;

  constructor(text: string, source: string) {
    this.#text = text;
    this.source = source;
  }

  /** True when this is exactly `other` (a key id string or another read value). */
  is(other: string | ReadValue | undefined): boolean {
    if (other === undefined) return false;
    return typeof other === 'string' ? this.#text === other : this.#text === other.#text;
  }

  /**
   * The id of the tenant's key with exactly this id, or undefined. An unrecognised value is
   * masked before this returns: from here on it may only be reported as {@link UNRECOGNISED}.
   */
  release(keys: readonly { readonly keyId: string }[]): string | undefined {
    const row = keys.find((k) => k.keyId === this.#text);
    if (row) return row.keyId;
    registerSecret(this.#text);
    return undefined;
  }

  /** The text, to write back into the MDM configuration it was read from. Nothing else may call this. */
  toMdm(): string {
    return this.#text;
  }

  toString(): string {
    return UNRECOGNISED;
  }
  toJSON(): string {
    return UNRECOGNISED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `ReadValue(${UNRECOGNISED} from ${this.source})`;
  }
}

/** A key id the action writes: a new key's id (from the control plane) or a value read before. */
export type KeyIdValue = string | ReadValue;

/** The text to write into the configuration, whichever of the two it is. */
export const mdmText = (v: KeyIdValue): string => (typeof v === 'string' ? v : v.toMdm());

/** Same value, whichever form each side has. */
export function sameKeyId(a: KeyIdValue | undefined, b: KeyIdValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (typeof a !== 'string') return a.is(b);
  if (typeof b !== 'string') return b.is(a);
  return a === b;
}

/** `list` without repeats, first occurrence kept. */
export function uniqueKeyIds<T extends KeyIdValue>(list: readonly T[]): T[] {
  const out: T[] = [];
  for (const v of list) if (!out.some((o) => sameKeyId(o, v))) out.push(v);
  return out;
}

/**
 * For messages: the ids that are plain strings (new keys, key-ids input, released ids) by
 * name, read values only counted — they have not been checked against the tenant here.
 */
export function describeKeyIds(list: readonly KeyIdValue[]): string {
  const named = list.filter((v): v is string => typeof v === 'string');
  const read = list.length - named.length;
  const parts = [...named, ...(read ? [`${read} value(s) read from the configuration`] : [])];
  return parts.join(', ') || 'none';
}

/**
 * Releases a list against the tenant's keys: the listed ids, and the values that are not
 * (masked before this returns, still opaque).
 */
export function releaseAll(
  values: readonly ReadValue[],
  keys: readonly { readonly keyId: string }[],
): { listed: string[]; unrecognised: ReadValue[] } {
  const listed: string[] = [];
  const unrecognised: ReadValue[] = [];
  for (const v of values) {
    const id = v.release(keys);
    if (id === undefined) unrecognised.push(v);
    else listed.push(id);
  }
  return { listed, unrecognised };
}
