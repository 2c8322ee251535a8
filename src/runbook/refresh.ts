/** Runbook step 5 (spec §1): force a profile refresh / check-in for the target group. */
import type { MdmDevice, MdmProvider } from '../mdm/provider.js';
import type { Log } from '../log.js';
import { HEARTBEAT_MS, Heartbeat } from '../progress.js';

export interface RefreshDeps {
  readonly mdm: Pick<MdmProvider, 'members' | 'refresh' | 'progress'>;
  readonly now: () => Date;
  readonly log?: Pick<Log, 'info'>;
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
  const refused = await withHeartbeat(d, devices.length, () => d.mdm.refresh(devices));
  return { devices, sentAt, refused };
}

/**
 * A refresh of 50,000 Intune devices takes ~83 minutes at Graph's write budget: while it runs,
 * a line every {@link HEARTBEAT_MS} says how far it got (writes include retries, so `done` can
 * pass the device count by the number of retried writes).
 */
async function withHeartbeat<T>(d: RefreshDeps, total: number, refresh: () => Promise<T>): Promise<T> {
  const progress = d.mdm.progress?.bind(d.mdm);
  if (!progress) return refresh();
  const start = progress();
  const sink = d.log ? (line: string) => d.log?.info(line) : undefined;
  const beat = new Heartbeat('refresh', 'device writes', () => d.now().getTime(), HEARTBEAT_MS, sink);
  const timer = setInterval(() => {
    const p = progress();
    beat.tick({ done: p.writes - start.writes, total, throttled: p.throttled - start.throttled });
  }, HEARTBEAT_MS);
  timer.unref();
  try {
    return await refresh();
  } finally {
    clearInterval(timer);
  }
}

/** `refresh sent to 9 of 10 device(s)`, with the first refused ids when `listRefused`. */
export function refreshDetail(r: Refresh, o: { verb?: string; listRefused?: boolean } = {}): string {
  const { devices, refused } = r;
  const head = `${o.verb ?? 'refresh sent to'} ${devices.length - refused.length} of ${devices.length} device(s)`;
  if (!o.listRefused || refused.length === 0) return head;
  const more = refused.length > 20 ? ` and ${refused.length - 20} more` : '';
  return `${head}; refused: ${refused.slice(0, 20).join(', ')}${more}`;
}
