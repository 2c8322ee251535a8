import { log } from '../log.js';
import type { AdapterFactory, Adapters } from '../adapters.js';
import { errorMessage } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import type { Intent } from '../intent/types.js';
import { revocationIntent } from '../recurrence/policy.js';
import { revokeForIntent } from '../revocation/revoke-fleet.js';
import { assignKeys, endpointFleetMap, type TenantView } from '../revocation/targets.js';
import type { RotationOutcome } from '../rotation/context.js';
import { currentRun } from '../run-info.js';
import type { Settings } from '../settings.js';
import { openEvidenceRepo, type ModeResult } from './common.js';

/**
 * Emergency revocation from workflow_dispatch. Every key id is checked against
 * the tenants' key lists and the intents' fleets first; one bad id and nothing
 * is revoked. Runs regardless of the rotation window.
 */
export async function revokeMode(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  now: () => Date = () => new Date(),
): Promise<ModeResult> {
  const repo = await openEvidenceRepo(settings);
  if (!repo) throw new Error('revoke needs github-token and GITHUB_REPOSITORY to keep evidence');
  const adapters = new Map<Intent, Adapters>();
  try {
    for (const intent of intents) adapters.set(intent, await factory(settings, intent));
    const views = await readTenants(intents, adapters, settings.keyIds);
    const { targets, problems } = assignKeys(settings.keyIds, intents, (i) => views.get(i)!);
    if (problems.length > 0) throw new Error(`nothing was revoked:\n${problems.join('\n')}`);
    const run = currentRun();
    const outcomes: RotationOutcome[] = [];
    for (let t of targets) {
      const a = adapters.get(t.intent)!;
      log.startGroup(`revoke on ${t.intent.name} (fleet ${t.intent.fleet.id})`);
      let journal: Journal | undefined;
      try {
        const opts = { macKey: settings.evidenceHmacKey };
        // A recurring intent (spec §10): the revocation closes the running cycle, or is a cycle of its own.
        if (t.intent.recurrence)
          t = { ...t, intent: await revocationIntent(repo.files, repo.branch, t.intent, run, now, opts) };
        journal = await Journal.open(repo.files, repo.branch, t.intent, run, now, opts);
        outcomes.push(
          await revokeForIntent(
            {
              intent: t.intent,
              thoth: a.thoth,
              mdm: a.mdm,
              journal,
              run,
              now,
              sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
              log,
              sealKey: settings.rollbackSealKey,
            },
            { keyIds: t.keyIds, reason: settings.reason ?? '', replace: settings.replace },
          ),
        );
      } catch (e) {
        log.warning(`${t.intent.name}: ${errorMessage(e)}`);
        // Record what happened and free the rotation for the next run.
        if (journal?.record?.lease) {
          await journal
            .commit({
              lease: null,
              events: [{ step: 'error', outcome: 'failed', detail: `revocation stopped: ${errorMessage(e)}` }],
            })
            .catch(() => undefined);
        }
        outcomes.push({
          name: t.intent.name,
          fleet: t.intent.fleet.id,
          state: journal?.record?.state ?? 'pending',
          status: 'failed',
          message: errorMessage(e),
          evidencePath: t.intent.evidencePath,
          evidenceCommit: journal?.lastCommit,
          warnings: [],
        });
      } finally {
        log.endGroup();
      }
    }
    return { outcomes, notes: [`reason: ${settings.reason ?? ''}`] };
  } finally {
    await Promise.allSettled([...adapters.values()].map((a) => a.close()));
  }
}

/** Key lists (once per control plane and tenant) and, when needed, endpoint → fleet maps. */
async function readTenants(
  intents: readonly Intent[],
  adapters: Map<Intent, Adapters>,
  keyIds: readonly string[],
): Promise<Map<Intent, TenantView>> {
  const keysByTenant = new Map<string, Awaited<ReturnType<Adapters['thoth']['listKeys']>>>();
  const views = new Map<Intent, TenantView>();
  for (const intent of intents) {
    const tenantKey = `${intent.controlPlaneUrl}|${intent.tenant}`;
    const thoth = adapters.get(intent)!.thoth;
    if (!keysByTenant.has(tenantKey)) keysByTenant.set(tenantKey, await thoth.listKeys());
    const keys = keysByTenant.get(tenantKey)!;
    const endpointScoped = keys.some((k) => keyIds.includes(k.keyId) && k.scopeLevel === 'endpoint');
    const endpointFleet = endpointScoped
      ? endpointFleetMap(await thoth.listEndpoints(intent.fleet.id), intent.fleet.id)
      : new Map<string, string>();
    views.set(intent, { keys, endpointFleet });
  }
  return views;
}
