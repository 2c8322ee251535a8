/**
 * Runbook step 4 (spec §1): snapshot the MDM runtime configuration (for rollback), then write
 * the key into it. The providers write only the three managed settings and read the
 * configuration back before they return (mdm/provider.ts `writeConfig`).
 */
import type { CreatedKey } from '../clients/thoth.js';
import type { SealedBlob } from '../evidence/record.js';
import type { ConfigSnapshot, DesiredValues, MdmProvider } from '../mdm/provider.js';
import { type KeyIdValue, uniqueKeyIds } from '../mdm/read-value.js';

/** `jamf-profile 12, intune-macos abc`: the documents a snapshot covers. */
export function describeItems(snapshot: ConfigSnapshot): string {
  return snapshot.items.map((i) => `${i.kind} ${i.id}`).join(', ');
}

/** The evidence line of the snapshot step. */
export function snapshotDetail(snapshot: ConfigSnapshot, sealed: SealedBlob | undefined): string {
  const where = sealed
    ? ' (sealed into this record)'
    : ' (in memory only; set rollback-seal-key to keep it across runs)';
  return `snapshot of ${describeItems(snapshot)} kept for rollback${where}`;
}

/** Existing entries kept (as read, opaque), new ids appended, no duplicates (spec: merged, de-duplicated). */
export function mergeRevoked(existing: readonly KeyIdValue[], added: readonly string[]): KeyIdValue[] {
  return uniqueKeyIds([...existing, ...added]);
}

/**
 * What the configuration is to deliver: `key` (a key this run minted) or, without one, the key
 * it delivers already (an emergency revocation that only adds to the revoked list).
 */
export function desiredValues(
  snapshot: ConfigSnapshot,
  key: Pick<CreatedKey, 'keyId' | 'apiKey'> | undefined,
  revokedKeyIds: readonly KeyIdValue[],
): DesiredValues {
  if (key) return { apiKey: key.apiKey, keyId: key.keyId, revokedKeyIds };
  if (!snapshot.apiKey || !snapshot.keyId)
    throw new Error(
      'the MDM configuration carries no key to keep; cannot deliver the revoked list without a replacement (set replace: true)',
    );
  return { apiKey: snapshot.apiKey, keyId: snapshot.keyId, revokedKeyIds };
}

/** Write the values into the snapshot's documents; throws unless the read-back carries them. */
export function deploy(
  mdm: Pick<MdmProvider, 'writeConfig'>,
  snapshot: ConfigSnapshot,
  values: DesiredValues,
): Promise<void> {
  return mdm.writeConfig(snapshot, values);
}
