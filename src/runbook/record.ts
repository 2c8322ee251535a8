/**
 * Runbook step 8, record (spec §6): what every step commits to the evidence record, the
 * rotation's durable state. The journal (evidence/journal.ts) does the committing; this module
 * holds what the rotation and the revocation share about it: the lease a working run holds,
 * taking a rotation over (one run wins), and events.
 */
import { StaleWriteError } from '../clients/github-contents.js';
import type { Change, EventInput, Journal } from '../evidence/journal.js';
import type { EventOutcome, EventStep, Lease, RunInfo } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';

/** The lease a run takes while it works: long enough to cover one validation poll. */
export function leaseUntil(intent: Intent, now: Date): string {
  return new Date(now.getTime() + intent.validation.timeoutMs + 15 * 60_000).toISOString();
}

export function lease(d: { readonly intent: Intent; readonly run: RunInfo }, now: Date): Lease {
  return { run: d.run, until: leaseUntil(d.intent, now) };
}

/**
 * Commit a change that takes the rotation (sets a lease). The commit is guarded by the blob
 * sha, so of runs racing here exactly one goes on: false for the others (another run wrote
 * first), which then leave the rotation to it.
 */
export async function takeOver(journal: Journal, change: Change): Promise<boolean> {
  try {
    await journal.commit(change);
    return true;
  } catch (e) {
    if (e instanceof StaleWriteError) return false;
    throw e;
  }
}

export function event(step: EventStep, outcome: EventOutcome, detail: string): EventInput {
  return { step, outcome, detail };
}

/** `events` when `cond` holds, none otherwise: for optional events inside an event list. */
export function eventsIf(cond: unknown, ...events: EventInput[]): EventInput[] {
  return cond ? events : [];
}
