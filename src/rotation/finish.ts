import { leaseUntil, type RotationDeps, type RotationOutcome } from './context.js';
import { Observer, summarize, verdictLine } from './observe.js';
import { outcome } from './outcome.js';

/**
 * Runbook step 7: the validation window has passed. Validate once more and
 * revoke the old key only if validation still holds; then confirm the control
 * plane no longer lists it as active.
 */
export async function revokeOldKey(d: RotationDeps): Promise<RotationOutcome> {
  const rec = d.journal.record!;
  const oldKeyId = rec.oldKey?.keyId;
  const newKeyId = rec.newKey!.keyId;
  const devices = await d.mdm.members();
  const verdict = await new Observer(d, devices, new Date(rec.refreshSentAt ?? rec.validatedAt!), newKeyId, oldKeyId).observe();
  const validation = summarize(verdict, d.now());
  if (!verdict.pass) {
    await d.journal.commit({ set: { validation }, events: [{ step: 'revalidate', outcome: 'failed', detail: `${verdict.reason}: ${verdictLine(verdict)}; old key ${oldKeyId} kept` }] });
    return outcome(d, d.journal.record, 'failed', `validation no longer holds (${verdict.reason}); old key ${oldKeyId} not revoked`, verdict.drift, verdict);
  }
  await d.journal.commit({ lease: { run: d.run, until: leaseUntil(d.intent, d.now()) }, set: { validation }, events: [{ step: 'revalidate', outcome: 'ok', detail: verdictLine(verdict) }] });
  if (!oldKeyId || oldKeyId === newKeyId) {
    await d.journal.commit({ state: 'completed', lease: null, events: [{ step: 'revoke-old-key', outcome: 'skipped', detail: 'no previous key to revoke' }] });
    return outcome(d, d.journal.record, 'completed', 'rotation completed (no previous key)', verdict.drift, verdict);
  }
  const result = await d.thoth.revokeKey(oldKeyId);
  const row = (await d.thoth.listKeys()).find((k) => k.key_id === oldKeyId);
  const confirmed = !row || row.active === false;
  await d.journal.commit({
    state: confirmed ? 'completed' : 'awaiting-revocation',
    lease: null,
    set: confirmed ? { revokedKeys: [{ keyId: oldKeyId, ...(rec.oldKey?.prefix ? { prefix: rec.oldKey.prefix } : {}) }] } : {},
    events: [
      { step: 'revoke-old-key', outcome: 'ok', detail: result === 'revoked' ? `revoked ${oldKeyId}` : `${oldKeyId} was already gone` },
      { step: 'confirm-revocation', outcome: confirmed ? 'ok' : 'failed', detail: confirmed ? `${oldKeyId} is ${row ? 'inactive' : 'no longer listed'}` : `${oldKeyId} is still listed as active; the next apply retries` },
    ],
  });
  return outcome(d, d.journal.record, confirmed ? 'completed' : 'failed', confirmed ? `rotation completed; old key ${oldKeyId} revoked` : `old key ${oldKeyId} still active after DELETE`, verdict.drift, verdict);
}
