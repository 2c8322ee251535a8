import { supersededKeys } from '../runbook/lost-keys.js';
import { event, eventsIf, lease } from '../runbook/record.js';
import { type Revocation, RevocationRefused, revokeChecked } from '../runbook/revoke.js';
import type { RunbookDeps } from '../runbook/deps.js';
import type { RotationOutcome } from './context.js';
import { Observer, summarize, verdictLine } from './observe.js';
import { outcome } from './outcome.js';

/**
 * Runbook step 7 of the planned rotation: the validation window has passed. Validate once more and
 * revoke the old key only if validation still holds; then confirm the control
 * plane no longer lists it as active.
 */
export async function revokeOldKey(d: RunbookDeps): Promise<RotationOutcome> {
  const rec = d.journal.record!;
  const oldKeyId = rec.oldKey?.keyId;
  const newKeyId = rec.newKey!.keyId;
  const devices = await d.mdm.members();
  const verdict = await new Observer(
    d,
    devices,
    new Date(rec.refreshSentAt ?? rec.validatedAt!),
    newKeyId,
    oldKeyId,
  ).observe();
  const validation = summarize(verdict, d.now());
  if (!verdict.pass) {
    await d.journal.commit({
      set: { validation },
      events: [
        {
          step: 'revalidate',
          outcome: 'failed',
          detail: `${verdict.reason}: ${verdictLine(verdict)}; old key ${oldKeyId} kept`,
        },
      ],
    });
    return outcome(
      d,
      d.journal.record,
      'failed',
      `validation no longer holds (${verdict.reason}); old key ${oldKeyId} not revoked`,
      verdict.drift,
      verdict,
    );
  }
  if (!oldKeyId || oldKeyId === newKeyId) {
    // Nothing to revoke, so nothing to hold the rotation for: one commit.
    d.journal.stage({
      set: { validation },
      events: [{ step: 'revalidate', outcome: 'ok', detail: verdictLine(verdict) }],
    });
    await d.journal.commit({
      state: 'completed',
      lease: null,
      events: [{ step: 'revoke-old-key', outcome: 'skipped', detail: 'no previous key to revoke' }],
    });
    return outcome(d, d.journal.record, 'completed', 'rotation completed (no previous key)', verdict.drift, verdict);
  }
  // Taken (sha-guarded) before the DELETE: of runs racing here exactly one revokes.
  await d.journal.commit({
    lease: lease(d, d.now()),
    set: { validation },
    events: [{ step: 'revalidate', outcome: 'ok', detail: verdictLine(verdict) }],
  });
  // Keys an interrupted run may have deployed (lost-keys.ts): devices had the validation window to move on.
  const superseded = supersededKeys(rec).filter((k) => k.keyId !== newKeyId && k.keyId !== oldKeyId);
  // The record names these keys; live state decides (guard.ts). The configuration delivers the
  // new key by now, so the old key passes; a key of another fleet, or the delivered one, does not.
  let revoked: Revocation[];
  try {
    revoked = await revokeChecked(d, [oldKeyId, ...superseded.map((k) => k.keyId)]);
  } catch (e) {
    if (!(e instanceof RevocationRefused)) throw e;
    await d.journal.commit({ lease: null, events: e.events() });
    return outcome(d, d.journal.record, 'failed', e.message, verdict.drift, verdict);
  }
  const result = revoked[0]!.result;
  const supersededResults = revoked.slice(1).map((r) => `${r.keyId}: ${r.result}`);
  const rows = await d.thoth.listKeys();
  const stillActive = [oldKeyId, ...superseded.map((k) => k.keyId)].filter((id) =>
    rows.some((k) => k.keyId === id && k.active),
  );
  const row = rows.find((k) => k.keyId === oldKeyId);
  const confirmed = stillActive.length === 0;
  await d.journal.commit({
    state: confirmed ? 'completed' : 'awaiting-revocation',
    lease: null,
    set: confirmed
      ? {
          revokedKeys: [
            { keyId: oldKeyId, ...(rec.oldKey?.prefix ? { prefix: rec.oldKey.prefix } : {}) },
            ...superseded.map((k) => ({ keyId: k.keyId })),
          ],
        }
      : {},
    events: [
      {
        step: 'revoke-old-key',
        outcome: 'ok',
        detail: result === 'revoked' ? `revoked ${oldKeyId}` : `${oldKeyId} was already gone`,
      },
      ...eventsIf(
        superseded.length,
        event(
          'revoke-superseded-key',
          'ok',
          `revoked key(s) an interrupted run may have deployed: ${supersededResults.join(', ')}`,
        ),
      ),
      {
        step: 'confirm-revocation',
        outcome: confirmed ? 'ok' : 'failed',
        detail: confirmed
          ? `${oldKeyId} is ${row ? 'inactive' : 'no longer listed'}${superseded.length ? `; so are ${superseded.map((k) => k.keyId).join(', ')}` : ''}`
          : `${stillActive.join(', ')} still listed as active; the next apply retries`,
      },
    ],
  });
  return outcome(
    d,
    d.journal.record,
    confirmed ? 'completed' : 'failed',
    confirmed ? `rotation completed; old key ${oldKeyId} revoked` : `old key ${oldKeyId} still active after DELETE`,
    verdict.drift,
    verdict,
  );
}
