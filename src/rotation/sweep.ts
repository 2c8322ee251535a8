import { keyNamePrefix, type RotationDeps } from './context.js';

/**
 * Revoke every still-active key minted for this rotation that the MDM does not
 * deliver: its plaintext existed only in a run that is gone (spec §7: such a key
 * is revoked, not left behind). Returns the ids revoked.
 */
export async function sweepLostKeys(d: RotationDeps, deliveredKeyId: string | undefined): Promise<string[]> {
  const prefix = keyNamePrefix(d.intent);
  const keys = await d.thoth.listKeys();
  const lost = keys.filter((k) => k.active !== false && (k.name ?? '').startsWith(prefix) && k.key_id !== deliveredKeyId);
  for (const k of lost) {
    await d.thoth.revokeKey(k.key_id);
    d.log.warning(`revoked ${k.key_id}: minted for ${d.intent.name} by an interrupted run, plaintext lost`);
  }
  if (lost.length > 0) {
    await d.journal.commit({ events: lost.map((k) => ({ step: 'revoke-lost-key', outcome: 'ok' as const, detail: `revoked ${k.key_id} (${k.name}): minted by an interrupted run, never deployed` })) });
  }
  return lost.map((k) => k.key_id);
}
