import type { EvidenceRecord, KeyRef } from '../evidence/record.js';
import type { ReadValue } from '../mdm/read-value.js';
import { revokeChecked, RevocationRefused } from '../revocation/guard.js';
import type { RotationDeps } from './context.js';
import { isMintedBy, keyOwner } from './key-name.js';

/**
 * Keys a dead run may have written into the MDM configuration before it could record it
 * (see `recoverUndeployed`). They may be on devices, so they are never swept as lost: they
 * stay valid and are revoked together with the old key, once the next key is validated.
 */
export function supersededKeys(record: EvidenceRecord | undefined): KeyRef[] {
  return record?.supersededKeys ?? [];
}

/**
 * Revoke every still-active key minted for this rotation that the MDM does not deliver: its
 * plaintext existed only in a run that is gone (spec §7: such a key is revoked, not left
 * behind). "Minted for this rotation" is the key's exact name (key-name.ts: this repository,
 * this fleet, this intent) and its live scope (guard.ts: this fleet or one of its endpoints);
 * the record's old key and superseded keys are spared. `delivered` is the configuration's key id
 * as this run read it in this step. A name-matching key of another scope is refused: recorded,
 * and the run stops so that a person looks. Returns the ids revoked.
 */
export async function sweepLostKeys(d: RotationDeps, delivered: ReadValue | undefined): Promise<string[]> {
  const owner = keyOwner(d.intent);
  const spared = new Set([
    ...supersededKeys(d.journal.record).map((k) => k.keyId),
    ...(d.journal.record?.oldKey ? [d.journal.record.oldKey.keyId] : []),
  ]);
  const keys = await d.thoth.listKeys();
  const lost = keys.filter(
    (k) => k.active !== false && isMintedBy(k.name, owner) && !delivered?.is(k.key_id) && !spared.has(k.key_id),
  );
  if (lost.length === 0) return [];
  try {
    await revokeChecked(
      d,
      lost.map((k) => k.key_id),
      { known: { keys, delivered: { keyId: delivered } } },
    );
  } catch (e) {
    if (e instanceof RevocationRefused) await d.journal.commit({ events: e.events() });
    throw e;
  }
  for (const k of lost)
    d.log.warning(`revoked ${k.key_id}: minted for ${d.intent.name} by an interrupted run, plaintext lost`);
  await d.journal.commit({
    events: lost.map((k) => ({
      step: 'revoke-lost-key',
      outcome: 'ok' as const,
      detail: `revoked ${k.key_id} (${k.name}): minted by an interrupted run, never deployed`,
    })),
  });
  return lost.map((k) => k.key_id);
}
