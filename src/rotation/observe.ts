import type { ValidationSummary } from '../evidence/record.js';
import type { MdmDevice } from '../mdm/provider.js';
import type { RunbookDeps } from '../runbook/deps.js';
import type { MdmDeviceObs, ThothEndpointObs } from '../observations.js';
import { checkedInSince, decideValidation, HostJoin, type Verdict } from './verdict.js';

/**
 * One validation observation: the fleet's endpoints from the control plane, then fresh MDM
 * data for the devices confirmed by neither source yet. A device is confirmed by a fresh key
 * signal naming the new key (verdict.ts): its Thoth endpoint reported the new key after the
 * refresh, or its MDM holds a health report made after the refresh naming it. Re-reading it
 * from the MDM could not change its verdict, so a 50,000-device poll reads from the MDM only
 * the devices still out.
 */
export class Observer {
  readonly #d: RunbookDeps;
  readonly #devices: readonly MdmDevice[];
  readonly #refreshSentAt: Date;
  readonly #newKeyId: string;
  readonly #oldKeyId: string | undefined;
  /** Each device's latest observation, in the devices' order: an array, as a poll reads every device several times. */
  readonly #latest: MdmDeviceObs[];
  /** A device's index by its MDM id, to file fresh observations. */
  readonly #index = new Map<string, number>();
  /**
   * The group's side of the host-name join, built from the names the MDM last reported. Names
   * rarely change while a group is polled, so it is rebuilt only when a read says one did.
   */
  #join: HostJoin;

  constructor(
    d: RunbookDeps,
    devices: readonly MdmDevice[],
    refreshSentAt: Date,
    newKeyId: string,
    oldKeyId: string | undefined,
  ) {
    this.#d = d;
    // One entry per device: a group listing that names a device twice must not count it twice.
    const kept: MdmDevice[] = [];
    for (const dev of devices) {
      if (this.#index.has(dev.mdmId)) continue;
      this.#index.set(dev.mdmId, kept.length);
      kept.push(dev);
    }
    this.#devices = kept;
    this.#refreshSentAt = refreshSentAt;
    this.#newKeyId = newKeyId;
    this.#oldKeyId = oldKeyId;
    this.#latest = [...kept];
    this.#join = new HostJoin(this.#devices);
  }

  async observe(): Promise<Verdict> {
    const listing = this.#d.thoth.listEndpoints(this.#d.intent.fleet.id);
    const unconfirmed: number[] = [];
    for (let i = 0; i < this.#devices.length; i++) if (!this.#confirmed(this.#latest[i])) unconfirmed.push(i);
    // The MDM learns which of them the control plane confirms as soon as the listing is in.
    // The placement is the verdict's own (HostJoin keeps it), so the listing is joined once.
    const stillOut = listing.then((endpoints) => {
      const { byDevice, shared } = this.#join.place(endpoints);
      // Several endpoints with a device's name count only when they all agree.
      const disputed = new Set(
        shared.filter((s) => s.device !== undefined && !s.list.every((ep) => this.#onNewKey(ep))).map((s) => s.device),
      );
      const refreshAt = this.#refreshSentAt.getTime();
      const devices: MdmDevice[] = [];
      const checkedIn = new Set<string>();
      for (const i of unconfirmed) {
        if (!disputed.has(i) && this.#onNewKey(byDevice[i])) continue;
        const dev = this.#devices[i]!;
        devices.push(dev);
        // Known to have checked in: a later MDM contact would tell the verdict nothing new.
        if (checkedInSince(refreshAt, this.#latest[i]!, byDevice[i])) checkedIn.add(dev.mdmId);
      }
      return { devices, checkedIn };
    });
    stillOut.catch(() => undefined); // a failed listing fails the poll through `listing`
    const [endpoints, fresh] = await Promise.all([
      listing,
      this.#d.mdm.observe(
        unconfirmed.map((i) => this.#devices[i]!),
        stillOut,
      ),
    ]);
    this.#file(fresh);
    const renamed = await this.#followRenames();
    const v = this.#d.intent.validation;
    const verdict = decideValidation({
      thoth: endpoints,
      // In the devices' order, with each device's latest observation: what #join was built from.
      mdm: this.#latest,
      join: this.#join,
      newKeyId: this.#newKeyId,
      ...(this.#oldKeyId ? { oldKeyId: this.#oldKeyId } : {}),
      refreshSentAt: this.#refreshSentAt,
      now: this.#d.now(),
      activeWithinMs: v.activeWithinMs,
      minHealthy: v.minHealthy,
    });
    if (renamed || !verdict.pass) return verdict;
    return { ...verdict, pass: false, reason: 'device names kept changing during the poll; polling again' };
  }

  /** Fresh observations replace what was held; one of a device outside the group is ignored. */
  #file(fresh: readonly MdmDeviceObs[]): void {
    for (const obs of fresh) {
      const i = this.#index.get(obs.mdmId);
      if (i !== undefined) this.#latest[i] = obs;
    }
  }

  /**
   * A device renamed since the join was built (its fresh inventory says so) joins other
   * endpoints now, and so may the devices that share its old or new name: what this poll read
   * or skipped for them rested on the old placement. They are read again, as a poll with no
   * knowledge of them would (any contact since the group's read), under the rebuilt join. False
   * when names were still moving after a few rounds: the poll's verdict must not pass then.
   */
  async #followRenames(): Promise<boolean> {
    for (let round = 0; round < RENAME_ROUNDS; round++) {
      if (this.#join.matches(this.#latest)) return true;
      const before = this.#join;
      this.#join = new HostJoin(this.#latest);
      const moved = new Set<string>();
      for (let i = 0; i < this.#latest.length; i++)
        if (before.keys[i] !== this.#join.keys[i]) moved.add(before.keys[i]!).add(this.#join.keys[i]!);
      const touched = this.#devices.filter(
        (_, i) => (moved.has(before.keys[i]!) || moved.has(this.#join.keys[i]!)) && !this.#confirmed(this.#latest[i]),
      );
      if (touched.length) this.#file(await this.#d.mdm.observe(touched));
    }
    return this.#join.matches(this.#latest);
  }

  /**
   * The endpoint was seen since the refresh on the new key: the control plane's key wins over
   * the MDM's in the verdict, so an MDM read of its device could not change it.
   */
  #onNewKey(ep: ThothEndpointObs | undefined): boolean {
    return ep?.keyId === this.#newKeyId && (ep.lastSeen ?? -Infinity) > this.#refreshSentAt.getTime();
  }

  /**
   * The MDM holds a health report made after the refresh naming the new key, not revoked nor
   * expired. A device that only checked in is not confirmed: that says nothing about its key.
   */
  #confirmed(obs: MdmDeviceObs | undefined): boolean {
    const h = obs?.health;
    const at = obs?.healthAt;
    if (h?.status !== 'ok' || at === undefined || !(at > this.#refreshSentAt.getTime())) return false;
    return h.keyId === this.#newKeyId && h.revoked !== true && h.expired !== true;
  }
}

/** Rounds of re-reading devices whose names moved, before a poll gives up passing. */
const RENAME_ROUNDS = 3;

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
