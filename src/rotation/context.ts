import type { SecretValue } from '../secret-value.js';
import type { Verdict } from './verdict.js';

/** How one intent's run ended, for outputs and the summary. */
export type RunStatus =
  | 'waiting'
  | 'busy'
  | 'unchanged'
  | 'in-progress'
  | 'completed'
  | 'rolled-back'
  | 'failed'
  | 'revoked'
  | 'planned';

export interface RotationOutcome {
  readonly name: string;
  readonly fleet: string;
  readonly state: string;
  readonly status: RunStatus;
  readonly message: string;
  readonly newKeyId?: string | undefined;
  readonly oldKeyId?: string | undefined;
  readonly evidencePath: string;
  readonly evidenceCommit?: string | undefined;
  readonly validation?: Verdict | undefined;
  readonly warnings: readonly string[];
  readonly revokedKeyIds?: readonly string[];
  /** Recurring intents (spec §10): when the next cycle became or becomes due (ISO-8601), and why. */
  readonly dueAt?: string | undefined;
  readonly dueBecause?: 'age' | 'expiry' | undefined;
  /** Only when this run minted it; for `expose-key`. */
  readonly apiKey?: SecretValue | undefined;
}
