import type { AdapterFactory } from '../adapters.js';
import type { Intent } from '../intent/types.js';
import type { Settings } from '../settings.js';
import type { ModeResult } from './common.js';

/** Emergency revocation (issue #5). */
export async function revokeMode(_settings: Settings, _intents: readonly Intent[], _factory: AdapterFactory): Promise<ModeResult> {
  throw new Error('mode revoke is not implemented in this version');
}
