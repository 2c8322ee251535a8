import { log } from '../log.js';
import type { AdapterFactory } from '../adapters.js';
import { errorMessage } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import { windowStatus } from '../intent/window.js';
import { formatDuration } from '../time/duration.js';
import type { Intent } from '../intent/types.js';
import { currentRun } from '../run-info.js';
import type { Settings } from '../settings.js';
import type { RotationOutcome } from '../rotation/context.js';
import { nextStep, type Step } from '../rotation/next-step.js';
import { preflight } from '../rotation/preflight.js';
import { openEvidenceRepo, withIntent, type ModeResult } from './common.js';

const DUE: ReadonlySet<Step['kind']> = new Set(['begin', 'recover-undeployed', 'refresh', 'validate', 'revoke-old']);

/** What `apply` would do for each intent, from reads only: no system is mutated. */
export async function planMode(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  now: () => Date = () => new Date(),
): Promise<ModeResult> {
  const repo = await openEvidenceRepo(settings).catch(() => undefined);
  const notes: string[] = repo
    ? []
    : ['evidence not read (no github-token or repository): plan assumes no rotation is in flight'];
  const outcomes: RotationOutcome[] = [];
  const include: { intent: string; fleet: string }[] = [];
  const run = currentRun();
  for (const intent of intents) {
    const o = await withIntent(settings, intent, factory, async (a) => {
      let journal: Journal | undefined;
      try {
        journal = repo
          ? await Journal.open(repo.files, repo.branch, intent, run, now, {
              macKey: settings.evidenceHmacKey,
              readOnly: true,
            })
          : undefined;
      } catch (e) {
        // A record apply would refuse (does not verify, not this intent's, target changed in flight) fails this intent only.
        log.warning(`${intent.name}: ${errorMessage(e)}`);
        return {
          name: intent.name,
          fleet: intent.fleet.id,
          state: 'pending',
          evidencePath: intent.evidencePath,
          status: 'failed' as const,
          message: errorMessage(e),
          warnings: [],
        };
      }
      for (const w of journal?.warnings ?? []) log.warning(w);
      const record = journal?.record;
      const win = intent.window ? windowStatus(intent.window, now()) : { open: false };
      const step = nextStep({
        record,
        run,
        now: now(),
        windowOpen: win.open,
        opensAt: win.opensAt,
        validationWindowMs: intent.validation.windowMs,
      });
      try {
        const pre = await preflight({ intent, thoth: a.thoth, mdm: a.mdm, now });
        const base = {
          name: intent.name,
          fleet: intent.fleet.id,
          state: record?.state ?? 'pending',
          newKeyId: record?.newKey?.keyId,
          oldKeyId: record?.oldKey?.keyId ?? (pre.oldKeyId || undefined),
          evidencePath: intent.evidencePath,
        };
        const warnings = [...(journal?.warnings ?? []), ...pre.warnings];
        if (pre.problems.length > 0)
          return { ...base, status: 'failed' as const, message: pre.problems.join('; '), warnings };
        if (DUE.has(step.kind)) include.push({ intent: intent.path, fleet: intent.fleet.id });
        const message = describe(step, intent, pre.memberCount, pre.activeCount, pre.oldKeyId);
        log.info(`plan: ${message}`);
        return {
          ...base,
          status: 'planned' as const,
          message: describe(step, intent, pre.memberCount, pre.activeCount, pre.oldKeyId),
          warnings: [...warnings, ...(intent.window ? [] : ['no window: apply will refuse this intent'])],
        };
      } catch (e) {
        log.warning(`${intent.name}: ${errorMessage(e)}`);
        return {
          name: intent.name,
          fleet: intent.fleet.id,
          state: record?.state ?? 'pending',
          evidencePath: intent.evidencePath,
          status: 'failed' as const,
          message: errorMessage(e),
          warnings: [],
        };
      }
    });
    outcomes.push(o);
  }
  return { outcomes, notes, matrix: { include } };
}

function describe(step: Step, intent: Intent, members: number, active: number, oldKeyId: string): string {
  const blast = `${members} device(s) in the group, ${active} active`;
  switch (step.kind) {
    case 'begin':
      return `would create a ${intent.key.scope} key (${intent.key.permissions.join(', ')}), deploy it through ${intent.mdm.provider}, refresh ${blast}, validate (≥ ${Math.round(intent.validation.minHealthy * 1000) / 10}% healthy) and revoke ${oldKeyId} ${formatDuration(intent.validation.windowMs)} after validation`;
    case 'wait-window':
      return `outside the window${step.opensAt ? `; opens ${step.opensAt.toISOString()}` : ''}; ${blast}`;
    case 'recover-undeployed':
      return `would reconcile an interrupted rotation (revoke its undeployed key) and start again; ${blast}`;
    case 'refresh':
      return `would refresh ${blast} and validate`;
    case 'validate':
      return `would continue validation; ${blast}`;
    case 'wait-revocation':
      return `validated; would revoke ${oldKeyId} after ${step.dueAt.toISOString()}`;
    case 'revoke-old':
      return `would re-validate ${blast} and revoke ${oldKeyId}`;
    case 'busy':
      return `held by run ${step.owner.id} until ${step.until.toISOString()}`;
    case 'done':
      return 'nothing to do';
  }
}
