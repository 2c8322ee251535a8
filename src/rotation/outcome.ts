import type { EvidenceRecord } from '../evidence/record.js';
import type { RunbookDeps } from '../runbook/deps.js';
import type { RotationOutcome, RunStatus } from './context.js';
import type { Verdict } from './verdict.js';

export function outcome(
  d: Pick<RunbookDeps, 'intent' | 'journal'>,
  record: EvidenceRecord | undefined,
  status: RunStatus,
  message: string,
  warnings: readonly string[] = [],
  validation?: Verdict,
): RotationOutcome {
  return {
    name: d.intent.name,
    fleet: d.intent.fleet.id,
    state: record?.state ?? 'pending',
    status,
    message,
    newKeyId: record?.newKey?.keyId,
    oldKeyId: record?.oldKey?.keyId,
    evidencePath: d.intent.evidencePath,
    evidenceCommit: d.journal.lastCommit,
    warnings,
    ...(validation ? { validation } : {}),
  };
}
