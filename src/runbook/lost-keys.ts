/**
 * Spec §7: "a key whose plaintext was lost before it reached the MDM configuration is revoked,
 * not left behind". The one definition of such a key ({@link findLostKeys}), used when a run
 * takes over a rotation, before a rotation mints, and by an emergency revocation for the
 * replacements an interrupted revocation minted.
 */
import type { ApiKey } from '../clients/thoth.js';
import type { EvidenceRecord, KeyRef } from '../evidence/record.js';
import type { ReadValue } from '../mdm/read-value.js';
import { RevocationRefused, revokeChecked } from '../revocation/guard.js';
import type { RunbookDeps } from './deps.js';
import { isMintedBy, type KeyOwner, keyOwner, type MintKind } from './key-name.js';

export interface LostKeyQuery {
  /** Whose keys: minted by this repository for this fleet and intent (key-name.ts). */
  readonly owner: KeyOwner;
  /** Only keys of this kind (rotation or emergency); both when absent. */
  readonly kind?: MintKind;
  /** The key id the configuration delivers, as read in this step: that key reached the fleet. */
  readonly delivered: ReadValue | undefined;
  /** Key ids the caller accounts for otherwise (the old key, superseded keys, keys being revoked anyway). */
  readonly spared: ReadonlySet<string>;
}

/**
 * Still-active keys minted for this intent that the configuration does not deliver and the
 * caller does not account for: their plaintext existed only in a run that is gone. Pure.
 */
export function findLostKeys(keys: readonly ApiKey[], q: LostKeyQuery): ApiKey[] {
  const { delivered, spared } = q;
  return keys.filter(
    (k) => k.active && isMintedBy(k.name, q.owner, q.kind) && !delivered?.is(k.keyId) && !spared.has(k.keyId),
  );
}

/**
 * Keys a dead run may have written into the MDM configuration before it could record it
 * (rotate.ts `recoverUndeployed`). They may be on devices, so they are never swept as lost:
 * they stay valid and are revoked together with the old key, once the next key is validated.
 */
export function supersededKeys(record: EvidenceRecord | undefined): KeyRef[] {
  return record?.supersededKeys ?? [];
}

/**
 * Revoke every lost key of this rotation (any kind), sparing the record's old key and
 * superseded keys. "Minted for this rotation" is the key's exact name and its live scope
 * (guard.ts: this fleet or one of its endpoints); `delivered` is the configuration's key id as
 * this run read it in this step. A name-matching key of another scope is refused: recorded,
 * and the run stops so that a person looks. Returns the ids revoked.
 */
export async function sweepLostKeys(d: RunbookDeps, delivered: ReadValue | undefined): Promise<string[]> {
  const record = d.journal.record;
  const spared = new Set([
    ...supersededKeys(record).map((k) => k.keyId),
    ...(record?.oldKey ? [record.oldKey.keyId] : []),
  ]);
  const keys = await d.thoth.listKeys();
  const lost = findLostKeys(keys, { owner: keyOwner(d.intent), delivered, spared });
  if (lost.length === 0) return [];
  try {
    await revokeChecked(
      d,
      lost.map((k) => k.keyId),
      { known: { keys, delivered: { keyId: delivered } } },
    );
  } catch (e) {
    if (e instanceof RevocationRefused) await d.journal.commit({ events: e.events() });
    throw e;
  }
  for (const k of lost)
    d.log.warning(`revoked ${k.keyId}: minted for ${d.intent.name} by an interrupted run, plaintext lost`);
  await d.journal.commit({
    events: lost.map((k) => ({
      step: 'revoke-lost-key' as const,
      outcome: 'ok' as const,
      detail: `revoked ${k.keyId} (${k.name}): minted by an interrupted run, never deployed`,
    })),
  });
  return lost.map((k) => k.keyId);
}
