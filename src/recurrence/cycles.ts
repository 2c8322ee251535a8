/**
 * The cycles of a recurring intent (spec action.md §10): one evidence record per cycle at
 * `<evidence.path>/<fleet.id>/<name>/<cycle>.json`, `<cycle>` being the UTC time the cycle was
 * claimed as `YYYYMMDDTHHMMSSZ`. Pure: ids, paths, which cycle is the latest, whether the
 * policy is stopped, and what `apply` does next for the policy.
 *
 * A cycle is run by the one-shot rotation machinery unchanged: it sees an intent whose
 * `evidencePath` is the cycle's record (`cycleIntent`), so resume, lease, rollback and
 * evidence hold per cycle exactly as they do for a one-shot rotation.
 */
import { isTerminalState, type EvidenceRecord } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import type { Due } from './due.js';

export const CYCLE_FILE = /^(\d{8}T\d{6}Z)\.json$/;

/** `2026-12-07T09:05:03.123Z` → `20261207T090503Z` (seconds; the claim time, UTC). */
export function cycleId(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The folder holding the intent's cycle records: `<evidence.path>/<fleet.id>/<name>`. */
export function cycleDir(intent: Pick<Intent, 'evidence' | 'fleet' | 'name'>): string {
  return `${intent.evidence.path}/${intent.fleet.id}/${intent.name}`;
}

export function cyclePath(intent: Pick<Intent, 'evidence' | 'fleet' | 'name'>, id: string): string {
  return `${cycleDir(intent)}/${id}.json`;
}

/** The intent as the rotation machinery sees it while it runs one cycle: the cycle's record is its evidence. */
export function cycleIntent(intent: Intent, id: string): Intent {
  return { ...intent, evidencePath: cyclePath(intent, id) };
}

/** How far ahead of this run's clock a cycle id may be (another runner's clock): a minute. */
const CLOCK_SKEW_MS = 60_000;

/** The moment a cycle id names, or undefined when it names none (`20261399T999999Z`). */
export function cycleTime(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(at.getTime()) || cycleId(at) !== id ? undefined : at;
}

/**
 * The latest cycle id in a listing of the cycle folder (file names). Ids sort as times; names
 * that are not `<cycle>.json` (a README, a moved-aside record) are not cycles. Whoever can push
 * to the evidence branch names these files: a name that is a cycle id but no real moment, or a
 * moment after `now`, was not claimed by this action, and would otherwise sort as the latest for
 * ever (silencing the policy, or steering it to a record of its choosing). Such names are
 * returned in `refused`; the caller stops the policy, naming them.
 */
export function latestCycle(names: readonly string[], now: Date): { latest?: string; refused: string[] } {
  let latest: string | undefined;
  const refused: string[] = [];
  for (const n of names) {
    const id = CYCLE_FILE.exec(n)?.[1];
    if (!id) continue;
    const at = cycleTime(id);
    if (!at || at.getTime() > now.getTime() + CLOCK_SKEW_MS) {
      refused.push(n);
      continue;
    }
    if (latest === undefined || id > latest) latest = id;
  }
  return { ...(latest ? { latest } : {}), refused };
}

/**
 * A cycle's record is the record of the cycle its file names: its first event (the claim) was
 * written at or after the cycle's id, within the hour a slow preflight may take. A record copied
 * from another cycle (valid chain and MAC, other claim time) fails this.
 */
export function recordMatchesCycle(record: EvidenceRecord, id: string): boolean {
  const at = cycleTime(id);
  const first = record.events[0]?.at;
  if (!at || !first) return false;
  const t = Date.parse(first);
  return t >= at.getTime() - 1_000 && t <= at.getTime() + 3_600_000;
}

/**
 * A `failed` or `rolled-back` cycle stops the policy until the intent file changes: its sha256
 * differs from the one the cycle recorded. Someone has to look before the next key is minted.
 */
export function stoppedBy(record: EvidenceRecord | undefined, intentSha256: string): boolean {
  return (
    record !== undefined &&
    (record.state === 'failed' || record.state === 'rolled-back') &&
    record.intent.sha256 === intentSha256
  );
}

/** What `apply` does for a recurring intent, before the rotation machinery takes over. */
export type PolicyStep =
  /** The latest cycle is in flight: continue it exactly as a one-shot rotation continues. */
  | { readonly kind: 'continue'; readonly cycle: string }
  /** The latest cycle failed or rolled back under this very intent file. */
  | { readonly kind: 'stopped'; readonly cycle: string; readonly state: string }
  /** Due and the window is open: claim a new cycle (id = the claim time). */
  | { readonly kind: 'start'; readonly cycle: string }
  /** Due, but the window is closed. */
  | { readonly kind: 'wait-window'; readonly opensAt?: Date | undefined }
  /** Not due yet (or the deployed key gives no time to measure from). */
  | { readonly kind: 'idle' };

export interface PolicyInput {
  readonly latest?: { readonly cycle: string; readonly record: EvidenceRecord | undefined } | undefined;
  readonly intentSha256: string;
  /** Undefined while a cycle is in flight or the policy is stopped: the deployed key is not read then. */
  readonly due?: Due | undefined;
  readonly windowOpen: boolean;
  readonly opensAt?: Date | undefined;
  readonly now: Date;
}

/**
 * In flight first (a cycle is never abandoned for a new one), then stopped, then due. A latest
 * cycle with no record yet (the folder lists it, the read found none) is treated as in flight:
 * the one-shot machinery decides from what it reads.
 */
export function policyStep(i: PolicyInput): PolicyStep {
  const latest = i.latest;
  if (latest && (!latest.record || !isTerminalState(latest.record.state)))
    return { kind: 'continue', cycle: latest.cycle };
  if (latest && stoppedBy(latest.record, i.intentSha256))
    return { kind: 'stopped', cycle: latest.cycle, state: latest.record!.state };
  if (!i.due?.due) return { kind: 'idle' };
  if (!i.windowOpen) return { kind: 'wait-window', opensAt: i.opensAt };
  const cycle = cycleId(i.now);
  // Two cycles of one policy can never share an id: a claim in the same second as the latest waits a run.
  if (latest && cycle <= latest.cycle) return { kind: 'idle' };
  return { kind: 'start', cycle };
}
