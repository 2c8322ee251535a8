/**
 * Retry policy shared by every client: which failures are transient, and how
 * long to wait before the next attempt. Per call, never blanket: a call marks
 * itself `retry: false` when repeating it could do harm (key creation).
 */

/** Statuses the APIs document as transient (Thoth provider client, Graph, Jamf SDK practice). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

export interface RetryPolicy {
  /** Total attempts including the first. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails instead. */
  readonly maxRetryAfterMs: number;
}

/** Thoth's own client: 4 attempts, 300 ms doubling to a 5 s cap (reference/thoth.md §1.4). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 300, maxDelayMs: 5_000, maxRetryAfterMs: 60_000 };

/**
 * Parse Retry-After: delta seconds (Graph sends fractions, e.g. 2.128) or an HTTP date.
 * Returns undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Capped exponential backoff with jitter in [d/2, d], so parallel clients spread out. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(d / 2 + (random() * d) / 2);
}
