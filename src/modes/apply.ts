import { log } from '../log.js';
import type { AdapterFactory } from '../adapters.js';
import { errorMessage } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import type { Intent } from '../intent/types.js';
import { currentRun } from '../run-info.js';
import type { Settings } from '../settings.js';
import type { RotationOutcome } from '../rotation/context.js';
import { abandon, rotate } from '../rotation/rotate.js';
import { outcome } from '../rotation/outcome.js';
import { StaleWriteError } from '../clients/github-contents.js';
import { openEvidenceRepo, withIntent, type ModeResult } from './common.js';

/** Start rotations that are due and continue those in flight, one intent after another. */
export async function applyMode(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  now: () => Date = () => new Date(),
): Promise<ModeResult> {
  const repo = await openEvidenceRepo(settings);
  if (!repo) throw new Error('apply needs github-token and GITHUB_REPOSITORY to keep evidence');
  const run = currentRun();
  const outcomes: RotationOutcome[] = [];
  for (const intent of intents) {
    outcomes.push(
      await withIntent(settings, intent, factory, async (a) => {
        let journal: Journal | undefined;
        try {
          // Throws, naming the file, for a record that does not verify or is not this intent's: that
          // intent stops here, before anything is mutated, and the others go on.
          journal = await Journal.open(repo.files, repo.branch, intent, run, now, { macKey: settings.evidenceHmacKey });
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
      }),
    );
  }
  return { outcomes, notes: [] };
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
