/**
 * Where the action's adapters are built: every client and MDM provider of a run, from the
 * settings (credentials) and one intent (the systems it targets). Nothing else in src/
 * constructs a client, so each credential goes only to its own system.
 */
import { readFile } from 'node:fs/promises';
import { createGraphClient } from './clients/graph.js';
import { createJamfClient } from './clients/jamf.js';
import { createThothClient, type ThothApi } from './clients/thoth.js';
import { WritePacer } from './http/pacer.js';
import type { Intent } from './intent/types.js';
import { IntuneProvider } from './mdm/intune-provider.js';
import { JamfProvider } from './mdm/jamf-provider.js';
import type { MdmProvider } from './mdm/provider.js';
import type { Settings } from './settings.js';

/** The adapters one intent talks to; each credential goes only to its own system. */
export interface Adapters {
  readonly thoth: ThothApi;
  readonly mdm: MdmProvider;
  close(): Promise<void>;
}

export type AdapterFactory = (settings: Settings, intent: Intent) => Promise<Adapters>;

/**
 * The factory of one run. It holds what the run's intents share: one Graph write pacer per
 * Entra app, tenant and Intune resource category, because Intune's budgets are per app per
 * tenant and per category (reference §11.2), however many intents use that app.
 */
export function createAdapterFactory(): AdapterFactory {
  const pacers = new Map<string, WritePacer>();
  const pacer = (key: string, budget: Settings['graphWriteBudget']): WritePacer => {
    let p = pacers.get(key);
    if (!p) pacers.set(key, (p = new WritePacer(budget)));
    return p;
  };
  return async (settings, intent) => {
    const thoth = createThothClient({
      baseUrl: intent.controlPlaneUrl,
      tenant: intent.tenant,
      credential: settings.thoth,
    });
    const mdm = intent.mdm.provider === 'jamf' ? jamf(settings, intent) : await intune(settings, intent, pacer);
    return {
      thoth,
      mdm,
      close: async () => {
        await Promise.allSettled([thoth.close(), mdm.close()]);
      },
    };
  };
}

/** Jamf Pro: the Jamf API client (OAuth client credentials) behind the provider. */
function jamf(settings: Settings, intent: Intent): MdmProvider {
  const target = intent.mdm.jamf!;
  const creds = settings.jamf!;
  return new JamfProvider(
    createJamfClient({ url: target.url, clientId: creds.clientId, clientSecret: creds.clientSecret }),
    target,
    intent.mdm.settings,
  );
}

/**
 * Microsoft Intune through Graph (issue #4). `graph-write-budget` is the "devices" budget
 * (syncDevice, remediation scripts; 200 / 20 s); "device configuration" (macOS custom
 * configuration) allows half of that (100 / 20 s), so it gets half.
 */
async function intune(
  settings: Settings,
  intent: Intent,
  pacer: (key: string, budget: Settings['graphWriteBudget']) => WritePacer,
): Promise<MdmProvider> {
  const target = intent.mdm.intune;
  const azure = settings.azure;
  if (!target) throw new Error('intune: the intent has no mdm.intune block');
  if (!azure)
    throw new Error(
      'intune: azure-tenant-id, azure-client-id and azure-client-secret are required for mdm.provider intune',
    );
  // The loader checked the placeholders at plan time; read the same files once for this run.
  const template = target.windows ? await readFile(target.windows.templatePath, 'utf8') : undefined;
  const detectionTemplate = target.windows ? await readFile(target.windows.detectionTemplatePath, 'utf8') : undefined;
  const app = `${target.graphUrl}|${azure.tenantId}|${azure.clientId}`;
  const budget = settings.graphWriteBudget;
  const api = createGraphClient({
    graphUrl: target.graphUrl,
    loginUrl: target.loginUrl,
    tenantId: azure.tenantId,
    clientId: azure.clientId,
    clientSecret: azure.clientSecret,
    pacer: pacer(`${app}|devices`, budget),
    configPacer: pacer(`${app}|configuration`, {
      writes: Math.max(1, Math.floor(budget.writes / 2)),
      windowMs: budget.windowMs,
    }),
  });
  return new IntuneProvider(api, target, intent.mdm.settings, {
    ...(template !== undefined ? { template } : {}),
    ...(detectionTemplate !== undefined ? { detectionTemplate } : {}),
    ...(intent.current?.keyId ? { currentKeyId: intent.current.keyId } : {}),
  });
}
