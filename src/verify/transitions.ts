import type { RotationState } from '../evidence/record.js';
import { isTerminalState, isUndeployedState, PATH_STATES } from '../evidence/schema.js';

/**
 * Which state may follow which (spec action.md §7), as the committed versions of one record
 * show them. The happy path only moves forward (one commit may cover several steps, so states
 * may be skipped); a run that finds a key minted but never delivered starts over from
 * `pending`; any rotation in flight may fail or roll back; an emergency revocation may be
 * recorded on any record. Nothing else leaves a finished rotation.
 */
export function legalTransition(from: RotationState, to: RotationState): boolean {
  if (from === to || to === 'revoked') return true;
  if (isTerminalState(from)) return false;
  if (to === 'failed' || to === 'rolled-back') return true;
  if (to === 'pending') return isUndeployedState(from);
  return PATH_STATES.indexOf(to) > PATH_STATES.indexOf(from);
}

/** Each step of `states` (oldest first) that is not a legal transition, as text. */
export function illegalTransitions(states: readonly { state: RotationState; commit: string }[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < states.length; i++) {
    const a = states[i - 1]!;
    const b = states[i]!;
    if (!legalTransition(a.state, b.state)) {
      out.push(
        `${a.state} → ${b.state} (commit ${b.commit.slice(0, 12)} after ${a.commit.slice(0, 12)}) is not a transition a rotation makes`,
      );
    }
  }
  return out;
}
