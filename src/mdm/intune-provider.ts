import type { Intent } from '../intent/types.js';
import type { Settings } from '../settings.js';
import type { MdmProvider } from './provider.js';

/** Microsoft Intune through Graph (issue #4). */
export async function createIntuneProvider(_settings: Settings, _intent: Intent): Promise<MdmProvider> {
  throw new Error('mdm.provider intune is not supported by this version yet; use jamf');
}
