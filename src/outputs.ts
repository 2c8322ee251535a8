import * as core from '@actions/core';
import { errorMessage } from './errors.js';
import { log } from './log.js';
import type { ModeResult } from './modes/common.js';
import type { RotationOutcome } from './rotation/context.js';
import { redact } from './secrets.js';

const PRIORITY = ['failed', 'rolled-back', 'revoked', 'in-progress', 'completed'] as const;

/** One word for the whole run (spec §4), worst first. */
export function overallStatus(mode: string, outcomes: readonly RotationOutcome[]): string {
  if (outcomes.some((o) => o.status === 'failed')) return 'failed';
  if (mode === 'plan') return 'planned';
  for (const s of PRIORITY) {
    if (outcomes.some((o) => o.status === s || (s === 'in-progress' && o.status === 'busy'))) return s;
  }
  return 'unchanged';
}

export function setOutputs(mode: string, result: ModeResult, exposeKey: boolean): void {
  const o = result.outcomes;
  core.setOutput('status', overallStatus(mode, o));
  core.setOutput(
    'rotations',
    JSON.stringify(
      o.map((r) => ({
        name: r.name,
        fleet: r.fleet,
        state: r.state,
        newKeyId: r.newKeyId ?? null,
        oldKeyId: r.oldKeyId ?? null,
        evidencePath: r.evidencePath,
        ...(r.dueAt ? { dueAt: r.dueAt, dueBecause: r.dueBecause ?? null } : {}),
      })),
    ),
  );
  const minted = o.filter((r) => r.apiKey);
  // Spec §4: the key created by *this* run; a later run of the same rotation sets none.
  if (minted.length === 1) core.setOutput('key-id', minted[0]!.newKeyId ?? '');
  core.setOutput('revoked-key-ids', [...new Set(o.flatMap((r) => r.revokedKeyIds ?? []))].join(','));
  const commit = [...o].reverse().find((r) => r.evidenceCommit)?.evidenceCommit;
  if (commit) core.setOutput('evidence-commit', commit);
  if (result.matrix) core.setOutput('matrix', JSON.stringify(result.matrix));
  if (exposeKey) {
    if (minted.length === 1) core.setOutput('api-key', minted[0]!.apiKey!.reveal());
    else if (minted.length > 1)
      log.warning('expose-key: this run minted more than one key; api-key is set only for single-key runs');
  }
}

/** The job summary (spec §8), written on failure too; without a runner (a local run) it goes to the log. */
export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env['GITHUB_STEP_SUMMARY']) {
    log.info(markdown);
    return;
  }
  try {
    await core.summary.addRaw(redact(markdown), true).write();
  } catch (e) {
    log.warning(`could not write the job summary: ${errorMessage(e)}`);
  }
}
