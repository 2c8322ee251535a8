import type { ApiKey } from '../clients/thoth.js';
import type { EvidenceRecord } from '../evidence/record.js';
import { problem, type UnaccountedKey } from './report.js';

/** A key as the control plane lists it (GET api-keys); a revoked key is absent or not active. */
export type LiveKey = ApiKey;

/** What the MDM delivers, reduced to what verify compares: never the key itself. */
export interface Delivered {
  /** `sha256:` fingerprint of the delivered key, or undefined when the configuration carries none. */
  readonly fingerprint: string | undefined;
  /** Whether the delivered revoked-ids list holds this id (values stay opaque, see read-value.ts). */
  readonly listsRevoked: (keyId: string) => boolean;
}

const isActive = (keys: readonly LiveKey[], id: string): boolean => keys.some((k) => k.keyId === id && k.active);

/** Every key id a record names: the keys it rotated, kept or revoked. */
export function keyIdsOf(r: EvidenceRecord): string[] {
  return [r.oldKey, r.newKey, ...(r.supersededKeys ?? []), ...(r.revokedKeys ?? [])].flatMap((k) =>
    k ? [k.keyId] : [],
  );
}

/**
 * The control plane against one record's claims (spec action.md §11.3): a completed rotation's
 * old key (and any superseded key) is revoked and its new key active, unless a later record
 * replaced it (rotated away from it, or revoked it); a revoked record's ids are revoked.
 */
export function controlPlaneProblems(
  r: EvidenceRecord,
  keys: readonly LiveKey[],
  replacedLater: (keyId: string) => boolean,
): string[] {
  const out: string[] = [];
  if (r.state === 'completed') {
    if (r.oldKey && isActive(keys, r.oldKey.keyId))
      out.push(problem('live', `the rotation is completed but its old key ${r.oldKey.keyId} is still active`));
    for (const k of r.supersededKeys ?? [])
      if (isActive(keys, k.keyId))
        out.push(problem('live', `the rotation is completed but superseded key ${k.keyId} is still active`));
    if (r.newKey && !isActive(keys, r.newKey.keyId) && !replacedLater(r.newKey.keyId))
      out.push(problem('live', `its new key ${r.newKey.keyId} is not active, and no later record replaced it`));
  }
  if (r.state === 'revoked') {
    for (const k of r.revokedKeys ?? [])
      if (isActive(keys, k.keyId)) out.push(problem('live', `revoked key ${k.keyId} is still active`));
  }
  return out;
}

/** A revoked record's ids must be in the revoked-ids list the MDM configuration delivers. */
export function deliveredRevocationProblems(r: EvidenceRecord, delivered: Delivered): string[] {
  if (r.state !== 'revoked') return [];
  return (r.revokedKeys ?? [])
    .filter((k) => !delivered.listsRevoked(k.keyId))
    .map((k) =>
      problem('live', `revoked key ${k.keyId} is not in the revoked-ids list the MDM configuration delivers`),
    );
}

/** The record whose new key the MDM should deliver now: the newest one that finished by putting a key in place. */
export function deliveringRecord(
  records: readonly { path: string; record: EvidenceRecord }[],
): { path: string; record: EvidenceRecord } | { skipped: string } | undefined {
  const byTime = [...records].sort((a, b) => lastAt(a.record) - lastAt(b.record));
  const newest = byTime.at(-1);
  if (!newest) return undefined;
  // While a rotation is in flight (or stopped half-way) either key may be delivered.
  if (!['completed', 'revoked', 'rolled-back'].includes(newest.record.state))
    return { skipped: `the newest rotation (${newest.path}) is ${newest.record.state}` };
  return byTime.filter((x) => x.record.newKey?.fingerprint && x.record.state !== 'rolled-back').at(-1);
}

function lastAt(r: EvidenceRecord): number {
  return Date.parse(r.events.at(-1)?.at ?? '') || 0;
}

/** The delivered key must be the one the record names (fingerprints compared; the key is never shown). */
export function fingerprintProblem(r: EvidenceRecord, delivered: Delivered): string | undefined {
  const want = r.newKey?.fingerprint;
  if (!want) return undefined;
  if (delivered.fingerprint === undefined)
    return problem('live', `the MDM configuration delivers no key, but the record says ${r.newKey!.keyId} is in place`);
  if (delivered.fingerprint !== want)
    return problem(
      'live',
      `the key the MDM configuration delivers does not have the fingerprint of new key ${r.newKey!.keyId} (the configuration was changed outside the action, or the record is wrong)`,
    );
  return undefined;
}

/**
 * Hygiene (spec action.md §11.4): active keys scoped to a managed fleet (or a managed endpoint)
 * that no record names. A finding for a person, not a violation.
 */
export function unaccountedKeys(
  keys: readonly LiveKey[],
  managed: { fleets: ReadonlySet<string>; endpoints: ReadonlySet<string> },
  accounted: ReadonlySet<string>,
): UnaccountedKey[] {
  return keys
    .filter((k) => k.active && !accounted.has(k.keyId))
    .filter(
      (k) =>
        (k.scopeLevel === 'fleet' && managed.fleets.has(k.scopeTargetId ?? '')) ||
        (k.scopeLevel === 'endpoint' && managed.endpoints.has(k.scopeTargetId ?? '')),
    )
    .map((k) => ({
      keyId: k.keyId,
      name: k.name ?? null,
      scope: k.scopeLevel ?? '',
      target: k.scopeTargetId ?? '',
      createdAt: k.createdAt ?? null,
    }));
}
