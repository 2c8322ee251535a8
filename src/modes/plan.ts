import { log } from '../log.js';
import type { Adapters, AdapterFactory } from '../adapters.js';
import { errorMessage } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import type { RunInfo } from '../evidence/record.js';
import { windowStatus } from '../intent/window.js';
import { cycleDir } from '../recurrence/cycles.js';
import {
  decidePolicy,
  dueFields,
  type dueFor,
  openPolicy,
  stoppedMessage,
  type PolicyView,
} from '../recurrence/policy.js';
import { formatDuration } from '../time/duration.js';
import type { Intent } from '../intent/types.js';
import { currentRun } from '../run-info.js';
import type { Settings } from '../settings.js';
import type { RotationOutcome } from '../rotation/context.js';
import { nextStep, type Step } from '../rotation/next-step.js';
import { preflight } from '../rotation/preflight.js';
import { openEvidenceRepo, withIntent, type EvidenceRepo, type ModeResult } from './common.js';

const DUE: ReadonlySet<Step['kind']> = new Set(['begin', 'recover-undeployed', 'refresh', 'validate', 'revoke-old']);

interface PlanContext {
  readonly settings: Settings;
  readonly repo: EvidenceRepo | undefined;
  readonly run: RunInfo;
  readonly now: () => Date;
}
type Include = { intent: string; fleet: string };

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
  const include: Include[] = [];
  const ctx: PlanContext = { settings, repo, run: currentRun(), now };
  for (const intent of intents) {
    const o = await withIntent(settings, intent, factory, async (a) => {
      let view: PolicyView;
      try {
        view = await readEvidence(ctx, intent);
      } catch (e) {
        // A record apply would refuse (does not verify, not this intent's, target changed in flight) fails this intent only.
        log.warning(`${intent.name}: ${errorMessage(e)}`);
        return {
          name: intent.name,
          fleet: intent.fleet.id,
          state: 'pending',
          evidencePath: intent.recurrence ? cycleDir(intent) : intent.evidencePath,
          status: 'failed' as const,
          message: errorMessage(e),
          warnings: [],
        };
      }
      return planIntent(ctx, intent, view, a, include);
    });
    outcomes.push(o);
  }
  return { outcomes, notes, matrix: { include } };
}

/** The record apply would act on: the intent's own, or a recurring intent's latest cycle. */
async function readEvidence(ctx: PlanContext, intent: Intent): Promise<PolicyView> {
  const { repo, run, now, settings } = ctx;
  if (!repo) return { intent };
  const opts = { macKey: settings.evidenceHmacKey, readOnly: true };
  if (intent.recurrence) return openPolicy(repo.files, repo.branch, intent, run, now, opts);
  return { intent, journal: await Journal.open(repo.files, repo.branch, intent, run, now, opts) };
}

async function planIntent(
  ctx: PlanContext,
  intent: Intent,
  view: PolicyView,
  a: Adapters,
  include: Include[],
): Promise<RotationOutcome> {
  const { now } = ctx;
  const journal = view.journal;
  for (const w of journal?.warnings ?? []) log.warning(w);
  const record = journal?.record;
  const recurring = intent.recurrence !== undefined;
  const evidencePath = recurring && !view.latest ? cycleDir(intent) : view.intent.evidencePath;
  const win = intent.window ? windowStatus(intent.window, now()) : { open: false };
  try {
    const pre = await preflight({ intent: view.intent, thoth: a.thoth, mdm: a.mdm, now });
    const base = {
      name: intent.name,
      fleet: intent.fleet.id,
      state: record?.state ?? 'pending',
      newKeyId: record?.newKey?.keyId,
      oldKeyId: record?.oldKey?.keyId ?? (pre.oldKeyId || undefined),
      evidencePath,
    };
    const warnings = [...(journal?.warnings ?? []), ...pre.warnings];
    if (pre.problems.length > 0)
      return { ...base, status: 'failed' as const, message: pre.problems.join('; '), warnings };
    const noWindow = intent.window ? [] : ['no window: apply will refuse this intent'];
    // A recurring intent: what its policy does next decides whether there is a rotation step at all.
    let prefix = '';
    let due: ReturnType<typeof dueFor> | undefined;
    let step: Step;
    if (recurring) {
      const { due: d, step: p, when } = decidePolicy(intent, pre, view.latest, now());
      due = d;
      if (p.kind === 'stopped') {
        const message = stoppedMessage(intent, p);
        log.warning(message);
        return { ...base, ...dueFields(due), status: 'planned', message, warnings: [...warnings, message] };
      }
      if (p.kind === 'idle') {
        log.info(`plan: ${intent.name}: ${when}`);
        return {
          ...base,
          ...dueFields(due),
          status: 'planned',
          message: `${when}; nothing to do`,
          warnings: [...warnings, ...noWindow, ...(due.dueAt ? [] : [when])],
        };
      }
      // A new cycle has no record yet: the rotation steps start from none.
      prefix = p.kind === 'continue' ? `cycle ${p.cycle} in flight: ` : `${when}: new cycle: `;
      step =
        p.kind === 'continue'
          ? rotationStep(ctx, intent, record, win)
          : p.kind === 'start'
            ? { kind: 'begin' }
            : { kind: 'wait-window', ...(p.opensAt ? { opensAt: p.opensAt } : {}) };
    } else {
      step = rotationStep(ctx, intent, record, win);
    }
    if (DUE.has(step.kind)) include.push({ intent: intent.path, fleet: intent.fleet.id });
    const message = prefix + describe(step, intent, pre.memberCount, pre.activeCount, pre.oldKeyId);
    log.info(`plan: ${message}`);
    return {
      ...base,
      ...dueFields(due),
      status: 'planned' as const,
      message,
      warnings: [...warnings, ...noWindow],
    };
  } catch (e) {
    log.warning(`${intent.name}: ${errorMessage(e)}`);
    return {
      name: intent.name,
      fleet: intent.fleet.id,
      state: record?.state ?? 'pending',
      evidencePath,
      status: 'failed' as const,
      message: errorMessage(e),
      warnings: [],
    };
  }
}

function rotationStep(
  ctx: PlanContext,
  intent: Intent,
  record: Journal['record'],
  win: { open: boolean; opensAt?: Date | undefined },
): Step {
  return nextStep({
    record,
    run: ctx.run,
    now: ctx.now(),
    windowOpen: win.open,
    opensAt: win.opensAt,
    validationWindowMs: intent.validation.windowMs,
  });
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
