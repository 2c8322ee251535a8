import type { ThothApi } from '../clients/thoth.js';
import type { Journal } from '../evidence/journal.js';
import type { RunInfo } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import type { MdmProvider } from '../mdm/provider.js';
import type { SecretValue } from '../secret-value.js';
import type { Verdict } from './verdict.js';

/** Everything one rotation run needs; adapters come in behind their interfaces. */
export interface RotationDeps {
  readonly intent: Intent;
  readonly thoth: ThothApi;
  readonly mdm: MdmProvider;
  readonly journal: Journal;
  readonly run: RunInfo;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: Log;
  readonly sealKey?: Buffer | undefined;
}

export interface Log {
  info(message: string): void;
  warning(message: string): void;
}

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
  /** Only when this run minted it; for `expose-key`. */
  readonly apiKey?: SecretValue | undefined;
}
