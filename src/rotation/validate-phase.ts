import { errorMessage } from '../errors.js';
import { unseal } from '../evidence/seal.js';
import { revokeChecked, RevocationRefused } from '../revocation/guard.js';
import type { ConfigSnapshot, MdmDevice, SnapshotItem } from '../mdm/provider.js';
import { leaseUntil, waitBeforeNextPoll, type RotationDeps, type RotationOutcome } from './context.js';
import { Observer, summarize, verdictLine } from './observe.js';
import { outcome } from './outcome.js';
import { supersededKeys } from './sweep.js';
import type { Verdict } from './verdict.js';

/** Runbook step 5: ask the group to check in now, then validate. */
export async function refreshAndValidate(
  d: RotationDeps,
  snapshot: ConfigSnapshot | undefined,
  known?: readonly MdmDevice[],
): Promise<RotationOutcome> {
  // The preflight of this same run already listed the group: do not read it twice.
  const devices = known ?? (await d.mdm.members());
  const refreshSentAt = d.now();
  const refused = await d.mdm.refresh(devices);
  await d.journal.commit({
    state: 'refreshed',
    set: { refreshSentAt: refreshSentAt.toISOString() },
    lease: { run: d.run, until: leaseUntil(d.intent, refreshSentAt) },
    events: [
      {
        step: 'refresh',
        outcome: refused.length ? 'info' : 'ok',
        detail: `refresh sent to ${devices.length - refused.length} of ${devices.length} device(s)${refused.length ? `; refused: ${refused.slice(0, 20).join(', ')}${refused.length > 20 ? ` and ${refused.length - 20} more` : ''}` : ''}`,
      },
    ],
  });
  return poll(
    d,
    new Observer(d, devices, refreshSentAt, d.journal.record!.newKey!.keyId, d.journal.record!.oldKey?.keyId),
    refreshSentAt,
    snapshot,
  );
}

/** A run resumed at `refreshed`: validate against the recorded refresh time. */
export async function validateRefreshed(
  d: RotationDeps,
  snapshot: ConfigSnapshot | undefined,
): Promise<RotationOutcome> {
  const rec = d.journal.record!;
  const devices = await d.mdm.members();
  const refreshSentAt = new Date(rec.refreshSentAt ?? d.now().toISOString());
  await d.journal.commit({
    lease: { run: d.run, until: leaseUntil(d.intent, d.now()) },
    events: [{ step: 'resume', outcome: 'info', detail: `validation resumed by run ${d.run.id}.${d.run.attempt}` }],
  });
  return poll(
    d,
    new Observer(d, devices, refreshSentAt, rec.newKey!.keyId, rec.oldKey?.keyId),
    refreshSentAt,
    snapshot ?? unsealedSnapshot(d),
  );
}

/** Poll until the verdict passes or the deadline (refresh time + validation.timeout) passes. */
async function poll(
  d: RotationDeps,
  observer: Observer,
  refreshSentAt: Date,
  snapshot: ConfigSnapshot | undefined,
): Promise<RotationOutcome> {
  const { timeoutMs, pollIntervalMs } = d.intent.validation;
  const deadline = refreshSentAt.getTime() + timeoutMs;
  let polls = 0;
  for (;;) {
    const started = d.now().getTime();
    const verdict = await observer.observe();
    polls++;
    d.log.info(`validation poll ${polls}: ${verdictLine(verdict)}`);
    if (verdict.pass) {
      const at = d.now();
      const validation = summarize(verdict, at);
      // Validated and scheduled in one commit: nothing external happens between the two.
      const due = new Date(at.getTime() + d.intent.validation.windowMs);
      d.journal.stage({
        state: 'validated',
        set: { validation, validatedAt: at.toISOString() },
        events: [{ step: 'validate', outcome: 'ok', detail: verdictLine(verdict) }, ...driftEvents(verdict)],
      });
      await d.journal.commit({
        state: 'awaiting-revocation',
        lease: null,
        events: [
          {
            step: 'schedule-revocation',
            outcome: 'waiting',
            detail: `old key ${d.journal.record!.oldKey?.keyId} is revoked by the first apply after ${due.toISOString()} if validation still holds`,
          },
        ],
      });
      return outcome(
        d,
        d.journal.record,
        'in-progress',
        `validated; old key revocation due at ${due.toISOString()}`,
        verdict.drift,
        verdict,
      );
    }
    const wait = waitBeforeNextPoll(d.now().getTime(), started, pollIntervalMs, deadline);
    if (wait === undefined) return validationFailed(d, verdict, snapshot);
    await d.sleep(wait);
  }
}

function driftEvents(v: Verdict) {
  return v.drift.length
    ? [{ step: 'identity-drift' as const, outcome: 'info' as const, detail: v.drift.slice(0, 20).join('; ') }]
    : [];
}

/**
 * Validation did not pass in time. `restore` puts the snapshot back first (the
 * old key is still valid), refreshes, and only then revokes the new key; `hold`
 * keeps both keys and fails so a human decides.
 */
async function validationFailed(
  d: RotationDeps,
  verdict: Verdict,
  snapshot: ConfigSnapshot | undefined,
): Promise<RotationOutcome> {
  const validation = summarize(verdict, d.now());
  const failedEvent = {
    step: 'validate' as const,
    outcome: 'failed' as const,
    detail: `${verdict.reason}: ${verdictLine(verdict)}`,
  };
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
    return outcome(
      d,
      d.journal.record,
      'failed',
      `validation failed (${verdict.reason}); holding both keys: ${why}`,
      verdict.drift,
      verdict,
    );
  }
  // Record the decision before the configuration is written back: the commit is guarded by the
  // blob sha, so when another run (an emergency revocation, which has its own concurrency group)
  // changed this rotation meanwhile, this run stops here instead of restoring over its work.
  await d.journal.commit({
    set: { validation },
    lease: { run: d.run, until: leaseUntil(d.intent, d.now()) },
    events: [failedEvent, ...driftEvents(verdict)],
  });
  try {
    await d.mdm.restoreConfig(snapshot);
  } catch (e) {
    await d.journal.commit({
      lease: null,
      events: [
        {
          step: 'rollback',
          outcome: 'failed',
          detail: `could not restore the configuration (${errorMessage(e)}); new key ${newKeyId} kept valid because devices may hold it`,
        },
      ],
    });
    return outcome(
      d,
      d.journal.record,
      'failed',
      `validation failed and rollback failed: ${errorMessage(e)}`,
      verdict.drift,
      verdict,
    );
  }
  const devices = await d.mdm.members();
  const refused = await d.mdm.refresh(devices);
  // The restored key by the id this rotation recorded (released by its preflight), not as read.
  const restored = d.journal.record!.oldKey?.keyId ?? 'the key it delivered before';
  const rolledBack = [
    {
      step: 'rollback' as const,
      outcome: 'ok' as const,
      detail: `restored ${snapshot.items.map((i) => `${i.kind} ${i.id}`).join(', ')} to deliver ${restored}`,
    },
    {
      step: 'refresh' as const,
      outcome: 'ok' as const,
      detail: `refresh sent to ${devices.length - refused.length} of ${devices.length} device(s)`,
    },
  ];
  // Keys an interrupted run may have deployed (sweep.ts) are not delivered any more either.
  const superseded = supersededKeys(d.journal.record).filter((k) => !snapshot.keyId?.is(k.keyId));
  // Live state decides (guard.ts): the configuration delivers the old key again, so the new one passes.
  try {
    await revokeChecked(d, [newKeyId, ...superseded.map((k) => k.keyId)]);
  } catch (e) {
    if (!(e instanceof RevocationRefused)) throw e;
    // The configuration is restored (the fleet is safe on the old key); the keys stay for a person.
    await d.journal.commit({ state: 'rolled-back', lease: null, events: [...rolledBack, ...e.events()] });
    return outcome(
      d,
      d.journal.record,
      'failed',
      `validation failed (${verdict.reason}); rolled back to ${restored}, but ${e.message}`,
      verdict.drift,
      verdict,
    );
  }
  await d.journal.commit({
    state: 'rolled-back',
    lease: null,
    events: [
      ...rolledBack,
      { step: 'revoke-new-key', outcome: 'ok', detail: `revoked ${newKeyId}` },
      ...(superseded.length
        ? [
            {
              step: 'revoke-superseded-key' as const,
              outcome: 'ok' as const,
              detail: `revoked ${superseded.map((k) => k.keyId).join(', ')}`,
            },
          ]
        : []),
    ],
  });
  return outcome(
    d,
    d.journal.record,
    'rolled-back',
    `validation failed (${verdict.reason}); rolled back to ${restored} and revoked ${newKeyId}`,
    verdict.drift,
    verdict,
  );
}

/** The pre-change configuration sealed into the record by an earlier run, if we hold the key. */
function unsealedSnapshot(d: RotationDeps): ConfigSnapshot | undefined {
  const rec = d.journal.record!;
  if (!rec.rollbackSeal || !d.sealKey) return undefined;
  const items = JSON.parse(
    unseal(rec.rollbackSeal, d.sealKey, `${d.intent.fleet.id}/${d.intent.name}`),
  ) as SnapshotItem[];
  return d.mdm.snapshotFrom(items);
}
