/**
 * Runbook step 7 (spec §1): revoke. Every DELETE goes through the live-state guard
 * (revocation/guard.ts): the record names keys, the control plane's key list and the MDM
 * configuration as read now decide. This module holds what rotation and revocation share on
 * top of it.
 */
import type { EventInput } from '../evidence/journal.js';
import { type KnownLiveState, RevocationRefused, revokeChecked } from '../revocation/guard.js';
import type { RunbookDeps } from './deps.js';
import { event } from './record.js';

export { type KnownLiveState, type Revocation, RevocationRefused, revokeChecked } from '../revocation/guard.js';

/**
 * Revoke a key this run minted and the configuration does not deliver (`known`: what this step
 * just read), through the guard like every DELETE. A refusal is returned, not thrown: the
 * caller records it with the rest of its outcome.
 */
export async function tryRevoke(
  d: Pick<RunbookDeps, 'intent' | 'thoth' | 'mdm'>,
  keyId: string,
  known: KnownLiveState = {},
): Promise<RevocationRefused | undefined> {
  try {
    await revokeChecked(d, [keyId], { known });
    return undefined;
  } catch (e) {
    if (e instanceof RevocationRefused) return e;
    throw e;
  }
}

/** The events of a `tryRevoke` of the new key: the refusal's, or one `revoke-new-key` saying why. */
export function newKeyRevocationEvents(refusal: RevocationRefused | undefined, detail: string): EventInput[] {
  return refusal ? refusal.events() : [event('revoke-new-key', 'ok', detail)];
}
