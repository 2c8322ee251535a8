import { duration } from '../progress.js';
import { errorMessage } from '../errors.js';
import type { EventInput } from '../evidence/journal.js';
import { unseal } from '../evidence/seal.js';
import type { ConfigSnapshot, MdmDevice, SnapshotItem } from '../mdm/provider.js';
import { describeItems } from '../runbook/deploy.js';
import { supersededKeys } from '../runbook/lost-keys.js';
import { event, eventsIf, lease } from '../runbook/record.js';
import { type Refresh, refreshDetail, refreshGroup } from '../runbook/refresh.js';
import { RevocationRefused, revokeChecked } from '../runbook/revoke.js';
import { pollUntil } from '../runbook/validate.js';
import type { RunbookDeps } from '../runbook/deps.js';
import type { RotationOutcome } from './context.js';
import { Observer, summarize, verdictLine } from './observe.js';
import { outcome } from './outcome.js';
import type { Verdict } from './verdict.js';

/**
 * Runbook steps 5 and 6 of the planned rotation: refresh the group, then validate it on the
 * new key until validation.timeout; on failure, roll back (restore the snapshot, refresh,
 * revoke the new key) or hold both keys.
 */

/** Step 5: ask the group to check in now, then validate (step 6). */
export async function refreshAndValidate(
  d: RunbookDeps,
  snapshot: ConfigSnapshot | undefined,
  known?: readonly MdmDevice[],
): Promise<RotationOutcome> {
  // The preflight of this same run already listed the group: do not read it twice.
  const refresh = await refreshGroup(d, known);
  await d.journal.commit({
    state: 'refreshed',
    set: { refreshSentAt: refresh.sentAt.toISOString() },
    lease: lease(d, refresh.sentAt),
    events: [event('refresh', refresh.refused.length ? 'info' : 'ok', refreshDetail(refresh, { listRefused: true }))],
  });
  const rec = d.journal.record!;
  return validate(
    d,
    new Observer(d, refresh.devices, refresh.sentAt, rec.newKey!.keyId, rec.oldKey?.keyId),
    refresh.sentAt,
    snapshot,
  );
}

/** A run resumed at `refreshed`: validate (step 6) against the recorded refresh time. */
export async function validateRefreshed(
  d: RunbookDeps,
  snapshot: ConfigSnapshot | undefined,
): Promise<RotationOutcome> {
  const rec = d.journal.record!;
  const devices = await d.mdm.members();
  const refreshSentAt = new Date(rec.refreshSentAt ?? d.now().toISOString());
  await d.journal.commit({
    lease: lease(d, d.now()),
    events: [event('resume', 'info', `validation resumed by run ${d.run.id}.${d.run.attempt}`)],
  });
  return validate(
    d,
    new Observer(d, devices, refreshSentAt, rec.newKey!.keyId, rec.oldKey?.keyId),
    refreshSentAt,
    snapshot ?? unsealedSnapshot(d),
  );
}

/** Step 6: poll until the verdict passes or the deadline (refresh time + validation.timeout) passes. */
async function validate(
  d: RunbookDeps,
  observer: Observer,
  refreshSentAt: Date,
  snapshot: ConfigSnapshot | undefined,
): Promise<RotationOutcome> {
  const { timeoutMs, pollIntervalMs } = d.intent.validation;
  const { last: verdict, settled } = await pollUntil(
    d,
    { from: refreshSentAt, timeoutMs, intervalMs: pollIntervalMs },
    async (poll) => {
      const v = await observer.observe();
      // Every poll is a heartbeat of the validation phase: where it stands and how long it may still take.
      const left = refreshSentAt.getTime() + timeoutMs - d.now().getTime();
      d.log.info(
        `validation poll ${poll}: ${verdictLine(v)}; ${duration(Math.max(0, left))} of ${duration(timeoutMs)} left`,
      );
      return v;
    },
    (v) => v.pass,
  );
  if (!settled) return validationFailed(d, verdict, snapshot);
  const at = d.now();
  const validation = summarize(verdict, at);
  // Validated and scheduled in one commit: nothing external happens between the two.
  const due = new Date(at.getTime() + d.intent.validation.windowMs);
  d.journal.stage({
    state: 'validated',
    set: { validation, validatedAt: at.toISOString() },
    events: [event('validate', 'ok', verdictLine(verdict)), ...driftEvents(verdict)],
  });
  await d.journal.commit({
    state: 'awaiting-revocation',
    lease: null,
    events: [
      event(
        'schedule-revocation',
        'waiting',
        `old key ${d.journal.record!.oldKey?.keyId} is revoked by the first apply after ${due.toISOString()} if validation still holds`,
      ),
    ],
  });
  const message = `validated; old key revocation due at ${due.toISOString()}`;
  return outcome(d, d.journal.record, 'in-progress', message, verdict.drift, verdict);
}

function driftEvents(v: Verdict): EventInput[] {
  return eventsIf(v.drift.length, event('identity-drift', 'info', v.drift.slice(0, 20).join('; ')));
}

/**
 * Validation did not pass in time. `restore` puts the snapshot back first (the
 * old key is still valid), refreshes, and only then revokes the new key; `hold`
 * keeps both keys and fails so a human decides.
 */
async function validationFailed(
  d: RunbookDeps,
  verdict: Verdict,
  snapshot: ConfigSnapshot | undefined,
): Promise<RotationOutcome> {
  const validation = summarize(verdict, d.now());
  const failedEvent = event('validate', 'failed', `${verdict.reason}: ${verdictLine(verdict)}`);
  const failed = (message: string) => outcome(d, d.journal.record, 'failed', message, verdict.drift, verdict);
  const newKeyId = d.journal.record!.newKey!.keyId;
  if (d.intent.rollback.onValidationFailure === 'hold' || !snapshot) {
    const why = snapshot
      ? 'rollback.onValidationFailure is hold'
      : 'no snapshot to restore (set rollback-seal-key to keep one across runs)';
    await d.journal.commit({
      set: { validation },
      lease: null,
      events: [
        failedEvent,
        ...driftEvents(verdict),
        { step: 'hold', outcome: 'info', detail: `both keys kept valid: ${why}; the next apply validates again` },
      ],
    });
    return failed(`validation failed (${verdict.reason}); holding both keys: ${why}`);
  }
  // Record the decision before the configuration is written back: the commit is guarded by the
  // blob sha, so when another run (an emergency revocation, which has its own concurrency group)
  // changed this rotation meanwhile, this run stops here instead of restoring over its work.
  await d.journal.commit({
    set: { validation },
    lease: lease(d, d.now()),
    events: [failedEvent, ...driftEvents(verdict)],
  });
  try {
    await d.mdm.restoreConfig(snapshot);
  } catch (e) {
    const detail = `could not restore the configuration (${errorMessage(e)}); new key ${newKeyId} kept valid because devices may hold it`;
    await d.journal.commit({ lease: null, events: [event('rollback', 'failed', detail)] });
    return failed(`validation failed and rollback failed: ${errorMessage(e)}`);
  }
  const refresh: Refresh = await refreshGroup(d);
  // The restored key by the id this rotation recorded (released by its preflight), not as read.
  const restored = d.journal.record!.oldKey?.keyId ?? 'the key it delivered before';
  const rolledBack = [
    event('rollback', 'ok', `restored ${describeItems(snapshot)} to deliver ${restored}`),
    event('refresh', 'ok', refreshDetail(refresh)),
  ];
  // Keys an interrupted run may have deployed (lost-keys.ts) are not delivered any more either.
  const superseded = supersededKeys(d.journal.record).filter((k) => !snapshot.keyId?.is(k.keyId));
  // Live state decides (guard.ts): the configuration delivers the old key again, so the new one passes.
  try {
    await revokeChecked(d, [newKeyId, ...superseded.map((k) => k.keyId)]);
  } catch (e) {
    if (!(e instanceof RevocationRefused)) throw e;
    // The configuration is restored (the fleet is safe on the old key); the keys stay for a person.
    await d.journal.commit({ state: 'rolled-back', lease: null, events: [...rolledBack, ...e.events()] });
    return failed(`validation failed (${verdict.reason}); rolled back to ${restored}, but ${e.message}`);
  }
  await d.journal.commit({
    state: 'rolled-back',
    lease: null,
    events: [
      ...rolledBack,
      event('revoke-new-key', 'ok', `revoked ${newKeyId}`),
      ...eventsIf(
        superseded.length,
        event('revoke-superseded-key', 'ok', `revoked ${superseded.map((k) => k.keyId).join(', ')}`),
      ),
    ],
  });
  const message = `validation failed (${verdict.reason}); rolled back to ${restored} and revoked ${newKeyId}`;
  return outcome(d, d.journal.record, 'rolled-back', message, verdict.drift, verdict);
}

/** The pre-change configuration sealed into the record by an earlier run, if we hold the key. */
function unsealedSnapshot(d: RunbookDeps): ConfigSnapshot | undefined {
  const rec = d.journal.record!;
  if (!rec.rollbackSeal || !d.sealKey) return undefined;
  const items = JSON.parse(
    unseal(rec.rollbackSeal, d.sealKey, `${d.intent.fleet.id}/${d.intent.name}`),
  ) as SnapshotItem[];
  return d.mdm.snapshotFrom(items);
}
