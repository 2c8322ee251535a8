import { createJamfClient } from './clients/jamf.js';
import { createThothClient, type ThothApi } from './clients/thoth.js';
import type { Intent } from './intent/types.js';
import { JamfProvider } from './mdm/jamf-provider.js';
import type { MdmProvider } from './mdm/provider.js';
import { createIntuneProvider } from './mdm/intune-provider.js';
import type { Settings } from './settings.js';

/** The adapters one intent talks to; each credential goes only to its own system. */
export interface Adapters {
  readonly thoth: ThothApi;
  readonly mdm: MdmProvider;
  close(): Promise<void>;
}

export type AdapterFactory = (settings: Settings, intent: Intent) => Promise<Adapters>;

export const createAdapters: AdapterFactory = async (settings, intent) => {
  const thoth = createThothClient({
    baseUrl: intent.controlPlaneUrl,
    tenant: intent.tenant,
    credential: settings.thoth,
  });
  const mdm = await createMdm(settings, intent);
  return {
    thoth,
    mdm,
    close: async () => {
      await Promise.allSettled([thoth.close(), mdm.close()]);
    },
  };
};

async function createMdm(settings: Settings, intent: Intent): Promise<MdmProvider> {
  if (intent.mdm.provider === 'jamf') {
    const target = intent.mdm.jamf!;
    const creds = settings.jamf!;
    return new JamfProvider(
      createJamfClient({ url: target.url, clientId: creds.clientId, clientSecret: creds.clientSecret }),
      target,
      intent.mdm.settings,
    );
  }
  return createIntuneProvider(settings, intent);
}
