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
  /** Recurring intents (spec §10): when the next cycle became or becomes due (ISO-8601), and why. */
  readonly dueAt?: string | undefined;
  readonly dueBecause?: 'age' | 'expiry' | undefined;
  /** Only when this run minted it; for `expose-key`. */
  readonly apiKey?: SecretValue | undefined;
}

/** The resource the new key must be authorized on. */
export function keyResource(intent: Intent): { resourceType: 'fleet' | 'endpoint'; resourceId: string } {
  return intent.key.scope === 'endpoint' && intent.key.endpointId
    ? { resourceType: 'endpoint', resourceId: intent.key.endpointId }
    : { resourceType: 'fleet', resourceId: intent.fleet.id };
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

/** The lease a run takes while it works: long enough to cover one validation poll. */
export function leaseUntil(intent: Intent, now: Date): string {
  return new Date(now.getTime() + intent.validation.timeoutMs + 15 * 60_000).toISOString();
}
