/** Runbook step 5 (spec §1): force a profile refresh / check-in for the target group. */
import type { MdmDevice, MdmProvider } from '../mdm/provider.js';

export interface RefreshDeps {
  readonly mdm: Pick<MdmProvider, 'members' | 'refresh'>;
  readonly now: () => Date;
}

export interface Refresh {
  readonly devices: readonly MdmDevice[];
  /** When the refresh was sent: validation counts only what devices report after it. */
  readonly sentAt: Date;
  /** Refresh ids the MDM refused. */
  readonly refused: readonly string[];
}

/** Ask every device of the group to check in now. `known`: the group as this run already listed it. */
export async function refreshGroup(d: RefreshDeps, known?: readonly MdmDevice[]): Promise<Refresh> {
  const devices = known ?? (await d.mdm.members());
  const sentAt = d.now();
  const refused = await d.mdm.refresh(devices);
  return { devices, sentAt, refused };
}

/** `refresh sent to 9 of 10 device(s)`, with the first refused ids when `listRefused`. */
export function refreshDetail(r: Refresh, o: { verb?: string; listRefused?: boolean } = {}): string {
  const { devices, refused } = r;
  const head = `${o.verb ?? 'refresh sent to'} ${devices.length - refused.length} of ${devices.length} device(s)`;
  if (!o.listRefused || refused.length === 0) return head;
  const more = refused.length > 20 ? ` and ${refused.length - 20} more` : '';
  return `${head}; refused: ${refused.slice(0, 20).join(', ')}${more}`;
}
