/**
 * Tests inspect what the simulators hold through the action's own parser. The parser hands the
 * key id and the revoked ids out opaque (src/mdm/read-value.ts); tests may read them out.
 */
import type { SettingNames } from '../src/intent/types.js';
import { readManagedSettings as readOpaque } from '../src/mdm/mobileconfig.js';
import { ReadValue } from '../src/mdm/read-value.js';

export function readManagedSettings(
  xml: string,
  names: SettingNames,
): {
  apiKey?: string;
  keyId?: string;
  revokedKeyIds: string[];
  identity: { payloadUUID: string; payloadIdentifier: string };
} {
  const v = readOpaque(xml, names);
  return {
    ...(v.apiKey !== undefined ? { apiKey: v.apiKey } : {}),
    ...(v.keyId ? { keyId: v.keyId.toMdm() } : {}),
    revokedKeyIds: v.revokedKeyIds.map((r) => r.toMdm()),
    identity: v.identity,
  };
}

/** The same object with every opaque value read out (for toEqual against plain strings). */
export function plainValues<T extends object>(v: T | undefined): unknown {
  if (v === undefined) return undefined;
  const text = (x: unknown): unknown => (x instanceof ReadValue ? x.toMdm() : Array.isArray(x) ? x.map(text) : x);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, text(x)]));
}
