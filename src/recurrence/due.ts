/**
 * When the next cycle of a recurring intent is due (spec action.md §10). Pure: the deployed
 * key's control-plane timestamps and the clock in, the decision out, so every edge is a table
 * test.
 *
 * Key age is measured from the control plane's `created_at` of the key the MDM configuration
 * delivers, not from the last cycle's record: a key replaced by hand or by an emergency
 * revocation restarts the clock, and a policy whose records were lost still rotates on time.
 */

export type DueReason = 'age' | 'expiry';

export interface DueInput {
  /** `recurrence.every`: due when the deployed key is at least this old. */
  readonly everyMs?: number | undefined;
  /** `recurrence.before`: due when the deployed key expires within this. */
  readonly beforeMs?: number | undefined;
  /** The deployed key's `created_at` (control plane); undefined when it has none or it does not parse. */
  readonly createdAt?: Date | undefined;
  /** The deployed key's `expires_at`; undefined for a key that never expires. */
  readonly expiresAt?: Date | undefined;
  readonly now: Date;
}

export type Due =
  | {
      readonly due: boolean;
      /** The moment it became or becomes due: `created_at + every` or `expires_at − before`, the earlier. */
      readonly dueAt: Date;
      readonly dueBecause: DueReason;
    }
  /** Neither rule applies (no `created_at` for `every`, a key that never expires for `before`). */
  | { readonly due: false; readonly dueAt?: undefined; readonly dueBecause?: undefined };

export function dueCycle(i: DueInput): Due {
  const candidates: { at: number; because: DueReason }[] = [];
  if (i.everyMs !== undefined && i.createdAt)
    candidates.push({ at: i.createdAt.getTime() + i.everyMs, because: 'age' });
  if (i.beforeMs !== undefined && i.expiresAt)
    candidates.push({ at: i.expiresAt.getTime() - i.beforeMs, because: 'expiry' });
  if (candidates.length === 0) return { due: false };
  // The earlier moment wins; on a tie, expiry: it is the deadline that breaks the fleet when missed.
  const first = candidates.reduce((a, b) => (b.at < a.at || (b.at === a.at && b.because === 'expiry') ? b : a));
  return { due: first.at <= i.now.getTime(), dueAt: new Date(first.at), dueBecause: first.because };
}

/** A control-plane timestamp as a Date; undefined when absent or not a time (never guessed at). */
export function keyTime(text: string | null | undefined): Date | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
