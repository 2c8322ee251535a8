/**
 * The I/O around a recurring intent's cycles (spec action.md §10), shared by plan and apply:
 * list the intent's cycle folder on the evidence branch, open the latest cycle's record with
 * the one-shot Journal (same chain, MAC, identity and pinning checks), and measure the deployed
 * key. The decisions themselves are pure (cycles.ts, due.ts).
 */
import type { RepoFiles, RepoListing } from '../clients/github-contents.js';
import { Journal, type JournalOptions } from '../evidence/journal.js';
import { EvidenceError, isTerminalState, type EvidenceRecord, type RunInfo } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import { windowStatus } from '../intent/window.js';
import type { Preflight } from '../rotation/preflight.js';
import {
  cycleDir,
  cycleId,
  cycleIntent,
  latestCycle,
  policyStep,
  recordMatchesCycle,
  type PolicyStep,
} from './cycles.js';
import { dueCycle, keyTime, type Due, type DueReason } from './due.js';

export interface PolicyView {
  /**
   * The intent as the rotation machinery sees it: the latest cycle's record as its evidence, or,
   * before the first cycle, the policy's own (its `evidencePath` is then never written).
   */
  readonly intent: Intent;
  readonly latest?: { readonly cycle: string; readonly record: EvidenceRecord | undefined };
  readonly journal?: Journal;
}

/**
 * The latest cycle and its record. Throws (EvidenceError, naming the file) for a record that does
 * not verify or is not this intent's: that intent stops before anything is mutated.
 */
export async function openPolicy(
  files: RepoFiles & RepoListing,
  branch: string,
  intent: Intent,
  run: RunInfo,
  now: () => Date,
  opts: JournalOptions,
): Promise<PolicyView> {
  const dir = cycleDir(intent);
  const { latest: cycle, refused } = latestCycle(await files.listFiles(dir, branch), now());
  if (refused.length > 0)
    throw new EvidenceError(
      `${dir}: ${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not a cycle this action claimed (not a real UTC moment, or later than now); nothing is done for this policy until ${refused.length === 1 ? 'it is' : 'they are'} removed from the evidence branch`,
    );
  if (!cycle) return { intent };
  const target = cycleIntent(policyIntent(intent), cycle);
  const journal = await Journal.open(files, branch, target, run, now, opts);
  if (journal.record && !recordMatchesCycle(journal.record, cycle))
    throw new EvidenceError(
      `${target.evidencePath}: the record was not claimed at ${cycle} (its first event is at ${journal.record.events[0]?.at ?? 'no time'}): a record copied from another cycle; nothing is done for this policy until it is removed`,
    );
  return { intent: target, latest: { cycle, record: journal.record }, journal };
}

/**
 * `current.keyId` names the key being replaced when the MDM configuration does not; after the
 * first cycle the configuration names the key the policy deployed, so a recurring intent's
 * `current` is only its first cycle's fallback and never contradicts a later one.
 */
export function policyIntent(intent: Intent): Intent {
  const { current: _firstCycleOnly, ...rest } = intent;
  return rest;
}

/**
 * When the deployed key (preflight: the key the configuration delivers, as the tenant lists it)
 * is due for replacement. A deployed key the tenant no longer lists, or lists as inactive
 * (expired or revoked), is due now: the fleet needs a working key.
 */
export function dueFor(intent: Intent, pre: Pick<Preflight, 'oldKeyId' | 'oldKey'>, now: Date): Due {
  const r = intent.recurrence ?? {};
  if (pre.oldKeyId && !pre.oldKey?.active) {
    const expiresAt = keyTime(pre.oldKey?.expiresAt);
    const dueAt = expiresAt && expiresAt.getTime() < now.getTime() ? expiresAt : now;
    return { due: true, dueAt, dueBecause: 'expiry' };
  }
  return dueCycle({
    everyMs: r.everyMs,
    beforeMs: r.beforeMs,
    createdAt: keyTime(pre.oldKey?.createdAt),
    expiresAt: keyTime(pre.oldKey?.expiresAt),
    now,
  });
}

/** `dueAt` and `dueBecause` for outputs (spec §4), when the due moment is known. */
export function dueFields(due: Due | undefined): { dueAt?: string; dueBecause?: DueReason } {
  return due?.dueAt ? { dueAt: due.dueAt.toISOString(), dueBecause: due.dueBecause } : {};
}

/** One line on when the next cycle comes, for the summary and the log. */
export function describeDue(due: Due, keyId: string): string {
  if (!due.dueAt)
    return `the deployed key ${keyId || '(unknown)'} has no created_at or expires_at that recurrence.every / recurrence.before can be measured from; no cycle is started`;
  const why =
    due.dueBecause === 'age'
      ? `the deployed key ${keyId} reaches recurrence.every`
      : `the deployed key ${keyId} expires within recurrence.before`;
  return due.due
    ? `due since ${due.dueAt.toISOString()} (${due.dueBecause}: ${why})`
    : `next cycle due ${due.dueAt.toISOString()} (${due.dueBecause}: ${why})`;
}

/** Said by plan and apply while a policy is stopped; names the policy, the cycle and the way out. */
export function stoppedMessage(intent: Intent, step: Extract<PolicyStep, { kind: 'stopped' }>): string {
  return `recurring policy ${intent.name} (fleet ${intent.fleet.id}) is stopped: cycle ${step.cycle} ended ${step.state} under this very intent file, so no new cycle starts. Read ${cycleDir(intent)}/${step.cycle}.json, fix the cause, then change ${intent.path} (any edit, e.g. its ticket) to restart the policy`;
}

/**
 * Where an emergency revocation (mode revoke) is recorded for a recurring intent: it closes the
 * running cycle (its record ends `revoked`, like a one-shot rotation's), or, with no cycle in
 * flight, it is a cycle of its own claimed now. Either way the latest cycle ends `revoked`, which
 * does not stop the policy: the next cycle is measured from the replacement key.
 */
export async function revocationIntent(
  files: RepoFiles & RepoListing,
  branch: string,
  intent: Intent,
  run: RunInfo,
  now: () => Date,
  opts: JournalOptions,
): Promise<Intent> {
  const view = await openPolicy(files, branch, intent, run, now, opts);
  const latest = view.latest;
  if (latest && (!latest.record || !isTerminalState(latest.record.state))) return view.intent;
  const claim = cycleId(now());
  // A cycle claimed in this very second keeps its record: the revocation is appended to it.
  if (latest && claim <= latest.cycle) return view.intent;
  // Taken like apply takes a cycle: of this and an apply starting one at the same moment, exactly
  // one goes on; should it be the apply, this run fails with nothing revoked and is run again.
  if (view.journal) await claimAfter(view.journal, claim, run);
  return cycleIntent(view.intent, claim);
}

/**
 * Claims the next cycle on the latest one's record before the new record exists: one event,
 * committed with the latest record's blob sha. Two runs that both found the policy due (two
 * apply runs, or apply and an emergency revocation) read the same sha, so exactly one of them
 * commits and the other gets StaleWriteError and starts nothing: the one-shot rotation's lock,
 * carried from cycle to cycle. The policy's first cycle has no record before it; there the
 * workflow's `concurrency` group serialises runs (README).
 */
export async function claimAfter(latest: Journal, cycle: string, run: RunInfo): Promise<void> {
  await latest.commit({
    events: [
      {
        step: 'next-cycle',
        outcome: 'info',
        detail: `run ${run.id}.${run.attempt} claimed the next cycle of this policy: ${cycle}`,
      },
    ],
  });
}

/**
 * What a recurring intent does now (plan and apply ask the same question): whether the deployed
 * key is due, and given the latest cycle and the window, the policy's next step.
 */
export function decidePolicy(
  intent: Intent,
  pre: Pick<Preflight, 'oldKeyId' | 'oldKey'>,
  latest: Parameters<typeof policyStep>[0]['latest'],
  now: Date,
): { due: Due; step: PolicyStep; when: string } {
  const due = dueFor(intent, pre, now);
  const win = intent.window ? windowStatus(intent.window, now) : { open: false };
  const step = policyStep({
    latest,
    intentSha256: intent.sha256,
    due,
    windowOpen: win.open,
    opensAt: win.opensAt,
    now,
  });
  return { due, step, when: describeDue(due, pre.oldKeyId) };
}
