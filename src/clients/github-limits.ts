import { createHash } from 'node:crypto';
import { parseRetryAfter, type RetryPolicy } from '../http/retry.js';

/**
 * What GitHub's own limits mean for the evidence writer, as pure functions (unit-tested on
 * their own): which 409 is a lost race and which only a busy branch, and how long a rate
 * limit asks us to wait.
 */

/**
 * What a 409 from `PUT /repos/{o}/{r}/contents/{path}` says. The contents API commits on top of
 * the branch head, so two writes to *different* files of one branch collide on the ref update:
 * `is at <head> but expected <parent>` (PyGithub#1787, octokit.net#2365,
 * integrations/terraform-provider-github#2909; `refs/heads/<b> … expected to be at <sha>` in
 * elifesciences/elife-bot#378). A stale blob sha of the file itself is `<path> does not match
 * <sha>` (PyGithub#1815). github/rest-api-description (api.github.com.2022-11-28.yaml,
 * `/repos/{owner}/{repo}/contents/{path}` put) documents 409 as a `basic-error` or a
 * `repository-rule-violation-error`, and 422 `validation_failed`; the wording is not specified,
 * so only a message naming the file decides on its own, anything else is settled by re-reading
 * the file.
 */
export type ConflictKind = 'file-moved' | 'branch-moved' | 'unknown';

export function classifyConflict(message: string): ConflictKind {
  // The sha is the one we sent (40 hex); anchored at the end so a path cannot fake it.
  if (/\bdoes not match [0-9a-f]{7,64}\s*$/i.test(message)) return 'file-moved';
  if (
    /\bis at [0-9a-f]{7,64} but expected [0-9a-f]{7,64}\b/i.test(message) ||
    /\bexpected to be at [0-9a-f]{7,64}\b/i.test(message)
  )
    return 'branch-moved';
  return 'unknown';
}

/**
 * A 409 that is not "the file moved" is retried while the file's own blob sha is still the one
 * we hold: the branch moved under us (another fleet's record), not our file. 250 ms doubling to
 * 4 s with jitter spreads the writers of a fan-out; ten attempts cover eight parallel writers
 * colliding round after round.
 */
export const BRANCH_CONFLICT_RETRY: RetryPolicy = {
  attempts: 10,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxRetryAfterMs: 0,
};

/**
 * GitHub's rate limits ("Rate limits for the REST API", docs.github.com, "Exceeding the rate
 * limit"): a 403 or 429; wait `retry-after` seconds when present; when `x-ratelimit-remaining`
 * is 0, wait until `x-ratelimit-reset` (UTC epoch seconds); otherwise wait at least one
 * minute, increasing exponentially, and give up after a number of retries. Continuing while
 * limited "may result in the banning of your integration".
 *
 * `baseDelayMs` is that minute;
 * `maxRetryAfterMs` is the longest this run waits for one request, all waits together: 10 min,
 * below the 15 min a lease keeps beyond validation.timeout (rotation/context.ts), so a run
 * waiting on GitHub still holds its rotation. Longer than that, the run stops and says when
 * to re-run (RateLimitedError).
 */
export const GITHUB_RATE_LIMIT: RetryPolicy = {
  attempts: 8,
  baseDelayMs: 60_000,
  maxDelayMs: 10 * 60_000,
  maxRetryAfterMs: 10 * 60_000,
};

export interface LimitedAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** GitHub's `message`. */
  readonly message: string;
}

export interface RateLimitWait {
  readonly waitMs: number;
  /** Where the wait comes from: GitHub's header, or our backoff when it sent none. */
  readonly source: 'retry-after' | 'x-ratelimit-reset' | 'backoff';
  readonly kind: 'primary' | 'secondary';
}

/**
 * How long a 403/429 asks us to wait (`n`: the how-many-th limit answer to this request), or
 * undefined when it is not a rate limit (a 403 for missing permissions is an error, not a wait).
 */
export function rateLimitWait(
  a: LimitedAnswer,
  nowMs: number,
  n: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): RateLimitWait | undefined {
  if (a.status !== 403 && a.status !== 429) return undefined;
  const exhausted = a.headers['x-ratelimit-remaining']?.trim() === '0';
  const secondary = /secondary rate limit|abuse/i.test(a.message);
  const kind = exhausted && !secondary ? 'primary' : 'secondary';
  const after = parseRetryAfter(a.headers['retry-after'], nowMs);
  // A little jitter on top of what GitHub asks: parallel jobs told the same instant spread out.
  const spread = (ms: number): number => Math.round(ms + random() * Math.min(ms * 0.1, 5_000));
  if (after !== undefined) return { waitMs: spread(Math.max(after, 1_000)), source: 'retry-after', kind };
  const reset = Number(a.headers['x-ratelimit-reset']);
  if (exhausted && Number.isFinite(reset) && reset > 0)
    return { waitMs: spread(Math.max(reset * 1000 - nowMs, 1_000)), source: 'x-ratelimit-reset', kind };
  if (a.status === 429 || exhausted || secondary || /rate limit/i.test(a.message)) {
    return { waitMs: spread(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1))), source: 'backoff', kind };
  }
  return undefined;
}

/** Git's blob id of a file's bytes (what the contents API calls the file's `sha`). */
export function gitBlobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
