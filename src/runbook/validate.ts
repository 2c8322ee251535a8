/**
 * Runbook step 6 (spec §1): validate by polling until the observation settles or the deadline
 * (refresh time + validation.timeout) passes. The one poll loop of the action: the rotation
 * polls endpoint health on the new key (rotation/observe.ts), the emergency revocation polls
 * that no endpoint still uses a revoked key (revocation/verify.ts).
 */

export interface PollDeps {
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface PollSchedule {
  /** When the refresh was sent: the deadline counts from it, so a resumed run does not start over. */
  readonly from: Date;
  readonly timeoutMs: number;
  readonly intervalMs: number;
}

export interface PollResult<T> {
  /** The last observation. */
  readonly last: T;
  /** Whether it settled before the deadline. */
  readonly settled: boolean;
}

/**
 * Observe (poll 1, 2, …) until `settled` says yes, or until the next poll would start after
 * the deadline; at least one poll is made.
 */
export async function pollUntil<T>(
  d: PollDeps,
  schedule: PollSchedule,
  observe: (poll: number) => Promise<T>,
  settled: (observation: T) => boolean,
): Promise<PollResult<T>> {
  const deadline = schedule.from.getTime() + schedule.timeoutMs;
  for (let poll = 1; ; poll++) {
    const started = d.now().getTime();
    const last = await observe(poll);
    if (settled(last)) return { last, settled: true };
    const wait = waitBeforeNextPoll(d.now().getTime(), started, schedule.intervalMs, deadline);
    if (wait === undefined) return { last, settled: false };
    await d.sleep(wait);
  }
}

/**
 * Polls start every `intervalMs` and never overlap (a slow poll of a big fleet is not followed
 * by a whole interval of idling on top): how long to wait after a poll that started at
 * `startedMs`, or undefined when the next poll would start after `deadlineMs`.
 */
export function waitBeforeNextPoll(
  nowMs: number,
  startedMs: number,
  intervalMs: number,
  deadlineMs: number,
): number | undefined {
  const wait = Math.max(0, startedMs + intervalMs - nowMs);
  return nowMs + wait > deadlineMs ? undefined : wait;
}
