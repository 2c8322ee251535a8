import type { ValidationSummary } from '../evidence/record.js';
import type { MdmDevice } from '../mdm/provider.js';
import type { RotationDeps } from './context.js';
import { decideValidation, HostJoin, type MdmDeviceObs, type Verdict } from './verdict.js';

/**
 * One validation observation: the fleet's endpoints from the control plane, and
 * fresh MDM data for the devices not yet confirmed (a confirmed device — checked
 * in since the refresh and reporting the new key — is not read again).
 */
export class Observer {
  readonly #d: RotationDeps;
  readonly #devices: readonly MdmDevice[];
  readonly #refreshSentAt: Date;
  readonly #newKeyId: string;
  readonly #oldKeyId: string | undefined;
  readonly #latest = new Map<string, MdmDeviceObs>();
  /** The group's side of the host-name join, built once: device names do not change between polls. */
  readonly #join: HostJoin;
  /** MDM device reads made, for the benchmark and the summary. */
  reads = 0;

  constructor(d: RotationDeps, devices: readonly MdmDevice[], refreshSentAt: Date, newKeyId: string, oldKeyId: string | undefined) {
    this.#d = d;
    this.#devices = devices;
    this.#refreshSentAt = refreshSentAt;
    this.#newKeyId = newKeyId;
    this.#oldKeyId = oldKeyId;
    for (const dev of devices) this.#latest.set(dev.mdmId, dev);
    this.#join = new HostJoin(devices);
  }

  async observe(): Promise<Verdict> {
    const pending = this.#devices.filter((dev) => !this.#confirmed(this.#latest.get(dev.mdmId)));
    const [endpoints, fresh] = await Promise.all([this.#d.thoth.listEndpoints(this.#d.intent.fleet.id), this.#d.mdm.observe(pending)]);
    this.reads += pending.length;
    for (const obs of fresh) this.#latest.set(obs.mdmId, obs);
    const v = this.#d.intent.validation;
    return decideValidation({
      thoth: endpoints,
      // In the devices' order, with each device's latest observation: what #join was built from.
      mdm: this.#devices.map((dev) => this.#latest.get(dev.mdmId)!),
      join: this.#join,
      newKeyId: this.#newKeyId,
      ...(this.#oldKeyId ? { oldKeyId: this.#oldKeyId } : {}),
      refreshSentAt: this.#refreshSentAt,
      now: this.#d.now(),
      activeWithinMs: v.activeWithinMs,
      minHealthy: v.minHealthy,
    });
  }

  #confirmed(obs: MdmDeviceObs | undefined): boolean {
    if (!obs?.lastContact || obs.lastContact.getTime() <= this.#refreshSentAt.getTime()) return false;
    return obs.health === undefined || obs.health.keyId === this.#newKeyId;
  }
}

export function summarize(v: Verdict, at: Date): ValidationSummary {
  return {
    at: at.toISOString(),
    total: v.total,
    active: v.active,
    healthy: v.healthy,
    onOldKey: v.onOldKey,
    notCheckedIn: v.notCheckedIn,
    inactive: v.inactive,
    healthyShare: v.healthyShare,
    stragglers: v.stragglers,
    stragglersOmitted: v.stragglersOmitted,
  };
}

export function verdictLine(v: Verdict): string {
  return `${v.healthy}/${v.active} active endpoint(s) healthy on the new key (${(v.healthyShare * 100).toFixed(1)}%), ${v.onOldKey} on the old key, ${v.notCheckedIn} not checked in, ${v.inactive} inactive of ${v.total}`;
}
