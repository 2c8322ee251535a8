import { isTerminalState, type EvidenceRecord, type Lease, type RunInfo } from '../evidence/record.js';

/**
 * What `apply` does next for one rotation, decided from the recorded state alone
 * (plus the clock and the window). Pure: no I/O, so every branch is a table test.
 */
export type Step =
  | { readonly kind: 'wait-window'; readonly opensAt?: Date }
  | { readonly kind: 'begin' }
  /** A run died before the key reached the MDM: reconcile (the key may be there after all) or start over. */
  | { readonly kind: 'recover-undeployed' }
  | { readonly kind: 'refresh' }
  | { readonly kind: 'validate' }
  | { readonly kind: 'wait-revocation'; readonly dueAt: Date }
  | { readonly kind: 'revoke-old' }
  | { readonly kind: 'done' }
  | { readonly kind: 'busy'; readonly owner: RunInfo; readonly until: Date };

export interface StepInput {
  readonly record: EvidenceRecord | undefined;
  readonly run: RunInfo;
  readonly now: Date;
  readonly windowOpen: boolean;
  readonly opensAt?: Date | undefined;
  readonly validationWindowMs: number;
}

/** Another live run holds the rotation: a different run whose lease has not run out. */
export function heldByOther(lease: Lease | undefined, run: RunInfo, now: Date): boolean {
  if (!lease) return false;
  // A re-run of the same workflow run starts only after the earlier attempt ended.
  if (lease.run.id === run.id) return false;
  return new Date(lease.until).getTime() > now.getTime();
}

export function nextStep(i: StepInput): Step {
  const r = i.record;
  if (!r)
    return i.windowOpen ? { kind: 'begin' } : { kind: 'wait-window', ...(i.opensAt ? { opensAt: i.opensAt } : {}) };
  if (isTerminalState(r.state)) return { kind: 'done' };
  const lease = r.lease;
  if (lease && heldByOther(lease, i.run, i.now))
    return { kind: 'busy', owner: lease.run, until: new Date(lease.until) };
  switch (r.state) {
    case 'pending':
    case 'created':
    case 'authorized':
      return { kind: 'recover-undeployed' };
    case 'deployed':
      return { kind: 'refresh' };
    case 'refreshed':
      return { kind: 'validate' };
    case 'validated':
    case 'awaiting-revocation': {
      const validatedAt = r.validatedAt ? new Date(r.validatedAt) : i.now;
      const dueAt = new Date(validatedAt.getTime() + i.validationWindowMs);
      return dueAt.getTime() <= i.now.getTime() ? { kind: 'revoke-old' } : { kind: 'wait-revocation', dueAt };
    }
    default:
      return { kind: 'done' };
  }
}
