/**
 * The three managed settings inside a `.mobileconfig` (spec mdm.md "How the key reaches an
 * endpoint"): read them, and write them back while keeping every other byte of meaning —
 * other keys, other payloads, and above all the top-level PayloadUUID / PayloadIdentifier
 * (a changed identity leaves a "ghost" profile on devices; reference mdm.md §2.3).
 *
 * The profile is handled as a plist through the `plist` library, never by string surgery.
 * Input is untrusted (it comes back from Jamf / Graph), so it is bounded and screened for
 * entity tricks before the XML parser sees it.
 */
import { isDeepStrictEqual } from 'node:util';
import { XMLValidator } from 'fast-xml-parser';
import { build, parse, type PlistValue } from 'plist';
import type { SettingNames } from '../intent/types.js';
import { registerSecret } from '../secrets.js';
import type { ManagedValues } from './provider.js';
import { ReadValue } from './read-value.js';
import { declaresEntities } from '../xml-entities.js';

/** The profile cannot be read or written safely. Messages never quote setting values. */
export class MobileconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MobileconfigError';
  }
}

/** Upper bound on a profile's size; real Custom Settings profiles are a few KiB. */
export const MAX_MOBILECONFIG_BYTES = 1024 * 1024;
export const PREFERENCES_PAYLOAD_TYPE = 'com.apple.ManagedClient.preferences';

type Dict = { [key: string]: PlistValue };
const isDict = (v: unknown): v is Dict =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);

/** Rejects what must never reach the XML parser: oversize, signed, binary, entity declarations. */
function screen(xml: string): void {
  if (typeof xml !== 'string') throw new MobileconfigError('configuration profile: expected XML text');
  if (xml.length > MAX_MOBILECONFIG_BYTES || Buffer.byteLength(xml, 'utf8') > MAX_MOBILECONFIG_BYTES) {
    throw new MobileconfigError(`configuration profile is larger than ${MAX_MOBILECONFIG_BYTES} bytes`);
  }
  const head = xml.trimStart(); // also drops a BOM
  if (!head.startsWith('<?xml') && !head.startsWith('<plist') && !head.startsWith('<!DOCTYPE')) {
    if (head.startsWith('bplist')) {
      throw new MobileconfigError(
        'configuration profile is a binary plist; convert it to XML (plutil -convert xml1) and upload it again',
      );
    }
    // DER of a CMS SignedData starts with SEQUENCE (0x30); decoded as text that is "0".
    const signed =
      xml.charCodeAt(0) === 0x30 || xml.includes('\u0006\u0009\u002a\u0086\u0048\u0086\u00f7\u000d\u0001\u0007\u0002');
    throw new MobileconfigError(
      signed
        ? 'configuration profile is signed (CMS/PKCS#7); the action cannot edit a signed profile without breaking the signature. Upload an unsigned profile (Jamf signs on delivery) and run again'
        : 'configuration profile is not an XML property list (expected it to start with <?xml or <plist)',
    );
  }
  // The Apple DOCTYPE has no internal subset; anything with one (or any ENTITY declaration)
  // is an entity-expansion attempt (billion laughs) or an external-entity probe.
  if (declaresEntities(xml)) {
    throw new MobileconfigError(
      'configuration profile declares XML entities (DOCTYPE internal subset); refusing to parse it',
    );
  }
}

/**
 * Parses the plist. xmldom (inside `plist`) reports recoverable errors on console.error and
 * carries on, with messages that may quote document text; both are unacceptable here, so
 * the XML is validated first and console.error is captured for the synchronous parse.
 */
function parsePlist(input: string): Dict {
  screen(input);
  // A BOM or blank line before `<?xml` is common in exported profiles and changes nothing.
  const xml = input.trimStart();
  const v = XMLValidator.validate(xml);
  if (v !== true) {
    throw new MobileconfigError(
      `configuration profile is not well-formed XML (${v.err.code} at line ${v.err.line}, column ${v.err.col})`,
    );
  }
  const original = console.error;
  let xmlErrors = 0;
  let root: PlistValue;
  console.error = (...args: unknown[]): void => {
    if (/^\[xmldom (error|fatalError)\]/.test(String(args[0]))) xmlErrors++;
  };
  try {
    root = parse(xml);
  } catch (e) {
    const msg =
      e instanceof Error &&
      /^(Invalid PLIST tag|Missing key|Unexpected <key>|__proto__|malformed document|Cannot parse)/.test(e.message)
        ? `: ${e.message.split('\n')[0]}`
        : '';
    throw new MobileconfigError(`configuration profile is not a valid property list${msg}`);
  } finally {
    console.error = original;
  }
  if (xmlErrors > 0) throw new MobileconfigError('configuration profile is not well-formed XML');
  if (!isDict(root)) throw new MobileconfigError('configuration profile: the plist root is not a dict');
  return root;
}

interface Located {
  root: Dict;
  settings: Dict;
  identity: { payloadUUID: string; payloadIdentifier: string };
}

function describe(p: Dict, index: number): string {
  const bits = [`PayloadContent[${index}]`];
  if (typeof p.PayloadIdentifier === 'string') bits.push(`PayloadIdentifier ${JSON.stringify(p.PayloadIdentifier)}`);
  if (typeof p.PayloadUUID === 'string') bits.push(`PayloadUUID ${p.PayloadUUID}`);
  if (typeof p.PayloadDisplayName === 'string') bits.push(`"${p.PayloadDisplayName}"`);
  return bits.join(' ');
}

/**
 * Finds `PayloadContent[i]` (PayloadType preferences, carrying the domain) → `<domain>` →
 * `Forced[0]` → `mcx_preference_settings`. Display names are never used: several Custom
 * Settings payloads often share one (reference mdm.md §2.3).
 */
function locate(root: Dict, names: SettingNames): Located {
  // Case-insensitively: the endpoint may read the settings as environment variables (Windows).
  if (new Set([names.apiKey, names.keyId, names.revokedKeyIds].map((n) => n.toLowerCase())).size !== 3) {
    throw new MobileconfigError('mdm.settings: apiKey, keyId and revokedKeyIds must name three different settings');
  }
  const { PayloadUUID: uuid, PayloadIdentifier: ident, PayloadContent: payloads } = root;
  if (typeof uuid !== 'string' || uuid === '' || typeof ident !== 'string' || ident === '') {
    throw new MobileconfigError(
      'configuration profile has no top-level PayloadUUID / PayloadIdentifier; it is not a configuration profile',
    );
  }
  if (!Array.isArray(payloads)) {
    throw new MobileconfigError('configuration profile has no PayloadContent array');
  }
  const domain = names.domain;
  const hits: { payload: Dict; index: number }[] = [];
  payloads.forEach((p, index) => {
    if (
      isDict(p) &&
      p.PayloadType === PREFERENCES_PAYLOAD_TYPE &&
      isDict(p.PayloadContent) &&
      Object.hasOwn(p.PayloadContent, domain)
    ) {
      hits.push({ payload: p, index });
    }
  });
  if (hits.length === 0) {
    throw new MobileconfigError(
      `configuration profile has no ${PREFERENCES_PAYLOAD_TYPE} payload for the domain ${JSON.stringify(domain)}: ` +
        `add an "Application & Custom Settings" (Custom Settings) payload for ${domain} with the keys ` +
        `${names.apiKey}, ${names.keyId} and ${names.revokedKeyIds}, or set mdm.settings.domain in the intent`,
    );
  }
  if (hits.length > 1) {
    throw new MobileconfigError(
      `configuration profile has ${hits.length} ${PREFERENCES_PAYLOAD_TYPE} payloads for the domain ${JSON.stringify(domain)} ` +
        `(${hits.map((h) => describe(h.payload, h.index)).join('; ')}); which one the Mac applies is undefined, so the action ` +
        `will not guess: keep exactly one payload for ${domain}`,
    );
  }
  const hit = hits[0]!;
  const where = describe(hit.payload, hit.index);
  const domainDict = (hit.payload.PayloadContent as Dict)[domain];
  if (!isDict(domainDict)) throw new MobileconfigError(`${where}: ${domain} is not a dict`);
  const forced = domainDict.Forced;
  if (!Array.isArray(forced) || forced.length === 0) {
    const setOnce = Object.hasOwn(domainDict, 'Set-Once')
      ? ' (its settings are under Set-Once, which endpoints apply only once; use Forced)'
      : '';
    throw new MobileconfigError(`${where}: ${domain} has no Forced array${setOnce}`);
  }
  const first = forced[0];
  if (!isDict(first) || !isDict(first.mcx_preference_settings)) {
    throw new MobileconfigError(`${where}: ${domain} → Forced[0] has no mcx_preference_settings dict`);
  }
  return { root, settings: first.mcx_preference_settings, identity: { payloadUUID: uuid, payloadIdentifier: ident } };
}

/**
 * The revoked-ids setting: an array of strings, or (hand-edited profiles) a string holding
 * a JSON array or a comma/whitespace separated list. Missing means none.
 */
export function parseRevokedIds(value: PlistValue | undefined, key: string): string[] {
  if (value === undefined || value === null) return [];
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return [];
    if (text.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (!Array.isArray(parsed)) throw new Error('not an array');
        list = parsed;
      } catch {
        throw new MobileconfigError(
          `setting ${key} holds a string that starts with "[" but is not a JSON array of strings`,
        );
      }
    } else list = text.split(/[\s,]+/);
  } else throw new MobileconfigError(`setting ${key} must be an array of strings`);
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') throw new MobileconfigError(`setting ${key} must contain only strings`);
    const id = item.trim();
    if (id !== '' && !out.includes(id)) out.push(id);
  }
  return out;
}

function optionalString(settings: Dict, key: string): string | undefined {
  const v = settings[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new MobileconfigError(`setting ${key} must be a string`);
  return v;
}

/** What {@link readManagedSettings} found: the api key masked, every other value opaque until released. */
export interface ReadSettings {
  apiKey?: string;
  keyId?: ReadValue;
  revokedKeyIds: ReadValue[];
  identity: { payloadUUID: string; payloadIdentifier: string };
}

/**
 * Reads the three managed settings. Masks the api key (registerSecret) the moment it is parsed;
 * the key id and the revoked ids come back as {@link ReadValue}s: the intent chose the setting
 * names, so they may hold anything, and are shown only once the control plane lists them.
 */
export function readManagedSettings(xml: string, names: SettingNames): ReadSettings {
  const root = parsePlist(xml);
  // The current key is a secret from here on, whatever happens next.
  maskAll(root, names);
  const { settings, identity } = locate(root, names);
  const apiKey = optionalString(settings, names.apiKey);
  const keyId = optionalString(settings, names.keyId)?.trim();
  const revokedKeyIds = parseRevokedIds(settings[names.revokedKeyIds], names.revokedKeyIds).map(
    (id) => new ReadValue(id, names.revokedKeyIds),
  );
  return {
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(keyId ? { keyId: new ReadValue(keyId, names.keyId) } : {}),
    revokedKeyIds,
    identity,
  };
}

/**
 * Masks every string stored under the api-key setting name anywhere in the profile, before
 * the payload is even located: an ambiguous or malformed profile still carries real keys.
 */
function maskAll(v: PlistValue, names: SettingNames, depth = 0): void {
  if (depth > 64) return;
  if (Array.isArray(v)) for (const x of v) maskAll(x, names, depth + 1);
  else if (isDict(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === names.apiKey && typeof x === 'string') registerSecret(x);
      else maskAll(x, names, depth + 1);
    }
  }
}

const SAFE_ID = /^[A-Za-z0-9_.:-]+$/;

/**
 * Returns a new mobileconfig with only the three settings changed; everything else (other
 * keys in the dict, other payloads, top-level PayloadUUID/PayloadIdentifier, nested payload
 * UUIDs) is preserved. The result is parsed again and compared with the intended plist, so
 * a value the library cannot carry through unchanged fails loudly instead of drifting.
 */
export function writeManagedSettings(xml: string, names: SettingNames, values: ManagedValues): string {
  registerSecret(values.apiKey);
  if (values.apiKey === '' || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(values.apiKey)) {
    throw new MobileconfigError(`new value for ${names.apiKey} is empty or contains characters a plist cannot carry`);
  }
  // Named by position, never quoted: the revoked ids are written back as read, and a read value
  // is shown only once the control plane lists it (read-value.ts).
  if (!SAFE_ID.test(values.keyId))
    throw new MobileconfigError(`the new value for ${names.keyId} is not of the form [A-Za-z0-9_.:-]+`);
  values.revokedKeyIds.forEach((id, i) => {
    if (!SAFE_ID.test(id))
      throw new MobileconfigError(
        `entry ${i + 1} of ${names.revokedKeyIds} is not of the form [A-Za-z0-9_.:-]+; remove it from the list`,
      );
  });
  const original = parsePlist(xml);
  maskAll(original, names);
  assertLosslessTypes(xml);
  const next = structuredClone(original);
  const { settings } = locate(next, names);
  settings[names.apiKey] = values.apiKey;
  settings[names.keyId] = values.keyId;
  settings[names.revokedKeyIds] = [...values.revokedKeyIds];

  let out: string;
  try {
    out = build(next);
  } catch {
    // The builder's message may quote profile text (which holds the key): never pass it on.
    throw new MobileconfigError('the plist library could not write the rewritten profile; nothing was changed');
  }
  let reread: Dict;
  try {
    reread = parsePlist(out);
  } catch {
    throw new MobileconfigError('the rewritten profile could not be parsed back; nothing was changed');
  }
  if (!isDeepStrictEqual(reread, next)) {
    throw new MobileconfigError(
      'the profile holds a value the plist library cannot write back unchanged (e.g. a <date> with fractional seconds or a null); nothing was changed',
    );
  }
  return out;
}

/**
 * JavaScript has one number type: `<real>1.0</real>` would come back as `<integer>1</integer>`
 * and integers beyond 2^53 would lose digits. Both would silently change another payload's
 * setting, so such profiles are refused (read-only scan of the input, no rewriting).
 */
function assertLosslessTypes(xml: string): void {
  for (const m of xml.matchAll(/<real>\s*([^<]*?)\s*<\/real>/g)) {
    const n = Number(m[1]);
    if (Number.isFinite(n) && Number.isInteger(n)) {
      throw new MobileconfigError(
        // The number is not quoted: it is a value of another setting, and values read are not shown.
        'the profile has a whole-number <real> that cannot be written back as a real; change it to <integer> if the app accepts that, or move it to another profile',
      );
    }
  }
  for (const m of xml.matchAll(/<integer>\s*[+-]?(\d+)\s*<\/integer>/g)) {
    if (!Number.isSafeInteger(Number(m[1]))) {
      throw new MobileconfigError('the profile has an <integer> beyond 2^53 that cannot be written back exactly');
    }
  }
}
