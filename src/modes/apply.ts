import { log } from '../log.js';
import type { Adapters, AdapterFactory } from '../adapters.js';
import { errorMessage } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import type { RunInfo } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import { cycleDir, cycleIntent, policyStep } from '../recurrence/cycles.js';
import { claimAfter, decidePolicy, dueFields, dueFor, openPolicy, stoppedMessage } from '../recurrence/policy.js';
import { currentRun } from '../run-info.js';
import type { Settings } from '../settings.js';
import type { RotationOutcome } from '../rotation/context.js';
import { preflight } from '../rotation/preflight.js';
import { abandon, rotate } from '../rotation/rotate.js';
import { outcome } from '../rotation/outcome.js';
import { StaleWriteError } from '../clients/github-contents.js';
import { openEvidenceRepo, withIntent, type EvidenceRepo, type ModeResult } from './common.js';

interface ApplyContext {
  readonly settings: Settings;
  readonly repo: EvidenceRepo;
  readonly run: RunInfo;
  readonly now: () => Date;
}

/** Start rotations that are due and continue those in flight, one intent after another. */
export async function applyMode(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  now: () => Date = () => new Date(),
): Promise<ModeResult> {
  const repo = await openEvidenceRepo(settings);
  if (!repo) throw new Error('apply needs github-token and GITHUB_REPOSITORY to keep evidence');
  const ctx: ApplyContext = { settings, repo, run: currentRun(), now };
  const outcomes: RotationOutcome[] = [];
  for (const intent of intents) {
    outcomes.push(
      await withIntent(settings, intent, factory, (a) =>
        intent.recurrence ? applyPolicy(ctx, intent, a) : applyRotation(ctx, intent, a),
      ),
    );
  }
  return { outcomes, notes: [] };
}

/**
 * One rotation, one-shot or one cycle of a recurring policy (its intent then names the cycle's
 * record as its evidence): resumed from the record, or begun when there is none.
 */
async function applyRotation(
  ctx: ApplyContext,
  intent: Intent,
  a: Adapters,
  opened?: Journal,
): Promise<RotationOutcome> {
  const { repo, run, now, settings } = ctx;
  let journal: Journal | undefined = opened;
  try {
    // Throws, naming the file, for a record that does not verify or is not this intent's: that
    // intent stops here, before anything is mutated, and the others go on.
    journal ??= await Journal.open(repo.files, repo.branch, intent, run, now, { macKey: settings.evidenceHmacKey });
    const deps = {
      intent,
      thoth: a.thoth,
      mdm: a.mdm,
      journal,
      run,
      now,
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
      log,
      sealKey: settings.rollbackSealKey,
    };
    try {
      const result = await rotate(deps);
      // Every path commits what it staged; should one not, the events still reach the record.
      if (journal.hasStaged) await journal.commit({ events: [] });
      return result;
    } catch (e) {
      await abandon(deps, e);
      if (e instanceof StaleWriteError) {
        // Another run advanced the rotation between our read and our write: it owns the
        // rotation now. Losing that race is not a failure of this run.
        await journal.reload().catch(() => undefined);
        log.info(`${intent.name}: another run advanced this rotation at the same time; leaving it to that run`);
        return outcome(
          deps,
          journal.record,
          'busy',
          'another run advanced this rotation at the same time; not touching it',
        );
      }
      throw e;
    }
  } catch (e) {
    log.warning(`${intent.name}: ${errorMessage(e)}`);
    return failedOutcome(intent, journal, e);
  }
}

/**
 * A recurring intent (spec §10): continue the latest cycle while it is in flight; start nothing
 * while the policy is stopped; else, when the deployed key is due and the window open, claim a
 * new cycle (its record is created at the claim) and run it as a one-shot rotation. An idle run
 * reads and commits nothing.
 */
async function applyPolicy(ctx: ApplyContext, intent: Intent, a: Adapters): Promise<RotationOutcome> {
  const { repo, run, now, settings } = ctx;
  try {
    const view = await openPolicy(repo.files, repo.branch, intent, run, now, { macKey: settings.evidenceHmacKey });
    const held = policyStep({ latest: view.latest, intentSha256: intent.sha256, windowOpen: false, now: now() });
    if (held.kind === 'continue') {
      const r = view.latest?.record;
      // Nothing minted yet: going on mints a key, so, as for a new cycle, live state decides
      // (the deployed key must be due), not a record someone could have placed on the branch.
      if (!r?.newKey) {
        const pre = await preflight({ intent: view.intent, thoth: a.thoth, mdm: a.mdm, now });
        if (pre.problems.length === 0 && !dueFor(intent, pre, now()).due) {
          const message = `${intent.name}: cycle ${held.cycle} has minted nothing and the deployed key is not due; not starting it`;
          log.warning(message);
          return {
            name: intent.name,
            fleet: intent.fleet.id,
            state: r?.state ?? 'pending',
            status: 'unchanged',
            message,
            evidencePath: view.intent.evidencePath,
            warnings: [message],
          };
        }
      }
      log.info(`${intent.name}: cycle ${held.cycle} is in flight; continuing it`);
      return await applyRotation(ctx, view.intent, a, view.journal);
    }
    const latestPath = view.latest ? view.intent.evidencePath : cycleDir(intent);
    const idle = (status: RotationOutcome['status'], message: string, warnings: string[] = []): RotationOutcome => ({
      name: intent.name,
      fleet: intent.fleet.id,
      state: view.latest?.record?.state ?? 'pending',
      status,
      message,
      newKeyId: view.latest?.record?.newKey?.keyId,
      oldKeyId: view.latest?.record?.oldKey?.keyId,
      evidencePath: latestPath,
      warnings,
    });
    if (held.kind === 'stopped') {
      const message = stoppedMessage(intent, held);
      log.warning(message);
      return idle('unchanged', message, [message]);
    }
    // The deployed key, read (never written) as a rotation's preflight reads it.
    const pre = await preflight({ intent: view.intent, thoth: a.thoth, mdm: a.mdm, now });
    if (pre.problems.length > 0)
      return idle(
        'failed',
        `cannot measure the deployed key, nothing changed: ${pre.problems.join('; ')}`,
        pre.warnings,
      );
    const { due, step, when } = decidePolicy(intent, pre, view.latest, now());
    log.info(`${intent.name}: ${when}`);
    switch (step.kind) {
      case 'start': {
        log.info(`${intent.name}: claiming cycle ${step.cycle}`);
        try {
          if (view.journal) await claimAfter(view.journal, step.cycle, run);
        } catch (e) {
          if (!(e instanceof StaleWriteError)) throw e;
          const message = `another run claimed the next cycle of this policy first (${view.intent.evidencePath} changed); not starting one`;
          log.info(`${intent.name}: ${message}`);
          return { ...idle('busy', message), ...dueFields(due) };
        }
        const result = await applyRotation(ctx, cycleIntent(view.intent, step.cycle), a);
        return { ...result, ...dueFields(due) };
      }
      case 'wait-window':
        return {
          ...idle(
            'waiting',
            `${when}; waiting for the window${step.opensAt ? ` (opens ${step.opensAt.toISOString()})` : ' (no further opening)'}`,
          ),
          ...dueFields(due),
        };
      default:
        return { ...idle('unchanged', when, due.dueAt ? [] : [when]), ...dueFields(due) };
    }
  } catch (e) {
    log.warning(`${intent.name}: ${errorMessage(e)}`);
    return failedOutcome({ ...intent, evidencePath: cycleDir(intent) }, undefined, e);
  }
}

function failedOutcome(intent: Intent, journal: Journal | undefined, e: unknown): RotationOutcome {
  const r = journal?.record;
  return {
    name: intent.name,
    fleet: intent.fleet.id,
    state: r?.state ?? 'pending',
    status: 'failed',
    message: errorMessage(e),
    newKeyId: r?.newKey?.keyId,
    oldKeyId: r?.oldKey?.keyId,
    evidencePath: intent.evidencePath,
    evidenceCommit: journal?.lastCommit,
    warnings: [],
  };
}
