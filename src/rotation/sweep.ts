import type { EvidenceRecord, KeyRef } from '../evidence/record.js';
import { keyNamePrefix, type RotationDeps } from './context.js';

/**
 * Keys a dead run may have written into the MDM configuration before it could record it
 * (see `recoverUndeployed`). They may be on devices, so they are never swept as lost: they
 * stay valid and are revoked together with the old key, once the next key is validated.
 */
export function supersededKeys(record: EvidenceRecord | undefined): KeyRef[] {
  return record?.supersededKeys ?? [];
}

/**
 * Revoke every still-active key minted for this rotation that the MDM does not
 * deliver: its plaintext existed only in a run that is gone (spec §7: such a key
 * is revoked, not left behind). The record's old key and superseded keys are spared.
 * Returns the ids revoked.
 */
export async function sweepLostKeys(d: RotationDeps, deliveredKeyId: string | undefined): Promise<string[]> {
  const prefix = keyNamePrefix(d.intent);
  const spared = new Set([...supersededKeys(d.journal.record).map((k) => k.keyId), ...(d.journal.record?.oldKey ? [d.journal.record.oldKey.keyId] : [])]);
  const keys = await d.thoth.listKeys();
  const lost = keys.filter((k) => k.active !== false && (k.name ?? '').startsWith(prefix) && k.key_id !== deliveredKeyId && !spared.has(k.key_id));
  for (const k of lost) {
    await d.thoth.revokeKey(k.key_id);
    d.log.warning(`revoked ${k.key_id}: minted for ${d.intent.name} by an interrupted run, plaintext lost`);
  }
  if (lost.length > 0) {
    await d.journal.commit({ events: lost.map((k) => ({ step: 'revoke-lost-key', outcome: 'ok' as const, detail: `revoked ${k.key_id} (${k.name}): minted by an interrupted run, never deployed` })) });
  }
  return lost.map((k) => k.key_id);
}
