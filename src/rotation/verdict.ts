/**
 * The validation verdict (spec action.md §5 `validation`, §6 `validation`, §8): decides,
 * from what Thoth and the MDM report about the target group, whether the new key is in
 * use widely enough to revoke the old one. Pure: the pollers gather observations, this
 * file only counts. It runs on every poll for groups of tens of thousands of devices, so
 * joins go through Maps and nothing is quadratic.
 */

import type { EpochMs, MdmDeviceObs, ThothEndpointObs } from '../observations.js';

export interface VerdictInput {
  thoth: readonly ThothEndpointObs[];
  mdm: readonly MdmDeviceObs[];
  newKeyId: string;
  oldKeyId?: string;
  /** When the refresh (blank push / sync) was sent: "checked in" means after this. */
  refreshSentAt: Date;
  /**
   * The caller's clock. The rules above need no "now" (activity is measured back from the
   * refresh, so a verdict re-computed later agrees); it is part of the input so that any
   * future time-based rule stays pure.
   */
  now: Date;
  /** Devices last seen before `refreshSentAt - activeWithinMs` are inactive: listed, not counted. */
  activeWithinMs: number;
  /** 0..1 */
  minHealthy: number;
  /** default 50 */
  stragglerLimit?: number;
  /**
   * The MDM side of the host-name join, from an earlier verdict over the same devices: a
   * poller passes it back so that 50,000 names are not re-keyed and re-counted every poll.
   * Ignored (rebuilt) unless it was built from exactly these device names, in this order.
   */
  join?: HostJoin;
}

/** Thoth endpoints placed onto a group's devices (see {@link HostJoin.place}). */
export interface Placement {
  /** Per device index: the endpoint with its name (the most recently seen of several). */
  readonly byDevice: readonly (ThothEndpointObs | undefined)[];
  /** Names several endpoints share: all of them, the one chosen, and the device it joins (if one). */
  readonly shared: readonly {
    readonly list: readonly ThothEndpointObs[];
    readonly best: ThothEndpointObs;
    readonly device?: number;
  }[];
  /** Per name no device holds, its most recently seen endpoint. */
  readonly strays: readonly ThothEndpointObs[];
}

/** The most recently seen endpoint of several with one name: the one the machine uses now. */
function mostRecent(list: readonly ThothEndpointObs[]): ThothEndpointObs {
  let best = list[0]!;
  for (const ep of list) if ((valid(ep.lastSeen) ?? -Infinity) > (valid(best.lastSeen) ?? -Infinity)) best = ep;
  return best;
}

/**
 * The MDM side of the host-name join: each device's join key and which keys one device alone
 * holds. It depends only on the device names, which do not change while a group is polled.
 */
export class HostJoin {
  readonly names: readonly string[];
  readonly keys: readonly string[];
  /** Key → the index of the only device with that key; shared keys map to -1. */
  readonly #byKey = new Map<string, number>();
  /** How many devices share each shared key (few). */
  readonly #shared = new Map<string, number>();
  #placed: { thoth: readonly ThothEndpointObs[]; placement: Placement } | undefined;

  constructor(devices: readonly { name: string }[]) {
    this.names = devices.map((d) => d.name);
    this.keys = this.names.map(hostKey);
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (!this.#byKey.has(k)) {
        this.#byKey.set(k, i);
      } else {
        this.#byKey.set(k, -1);
        this.#shared.set(k, (this.#shared.get(k) ?? 1) + 1);
      }
    }
  }

  /** The device a Thoth endpoint with this key joins: a name one device alone holds (never the empty name). */
  deviceFor(key: string): number | undefined {
    const i = this.#byKey.get(key);
    return i === undefined || i < 0 || key === '' ? undefined : i;
  }

  /** Several devices share the name: an endpoint with it is accounted for, not drift. */
  nameHeldBySeveral(key: string): boolean {
    return this.#byKey.get(key) === -1;
  }

  devicesNamed(key: string): number {
    const i = this.#byKey.get(key);
    return i === undefined ? 0 : i < 0 ? this.#shared.get(key)! : 1;
  }

  /**
   * Thoth endpoints placed onto the devices by host name. Duplicates (re-registered machines)
   * resolve to the most recently seen one, which is the one the machine is using now.
   * Endpoints whose name no single device holds are kept apart (few): they are drift, or
   * belong to a name several devices share (then those devices are judged on MDM data alone).
   * The last listing's placement is kept: a poller asks before the verdict does, for the same
   * listing, and 50,000 endpoints are placed once per poll.
   */
  place(thoth: readonly ThothEndpointObs[]): Placement {
    if (this.#placed?.thoth === thoth) return this.#placed.placement;
    const byDevice: (ThothEndpointObs | undefined)[] = new Array(this.names.length);
    const duplicated = new Map<string, ThothEndpointObs[]>();
    const unjoined = new Map<string, ThothEndpointObs[]>();
    // Indexed loop: an iterator's result objects are 50,000 allocations per poll here.
    for (let i = 0; i < thoth.length; i++) {
      const ep = thoth[i]!;
      const k = hostKey(ep.hostname);
      const device = this.deviceFor(k);
      if (device === undefined) {
        const list = unjoined.get(k);
        if (list) list.push(ep);
        else unjoined.set(k, [ep]);
        continue;
      }
      const first = byDevice[device];
      if (first === undefined) {
        byDevice[device] = ep;
        continue;
      }
      const list = duplicated.get(k);
      if (list) list.push(ep);
      else duplicated.set(k, [first, ep]);
    }
    const shared: { list: readonly ThothEndpointObs[]; best: ThothEndpointObs; device?: number }[] = [];
    duplicated.forEach((list, k) => {
      const best = mostRecent(list);
      const device = this.deviceFor(k)!;
      byDevice[device] = best;
      shared.push({ list, best, device });
    });
    const strays: ThothEndpointObs[] = [];
    unjoined.forEach((list, k) => {
      const best = mostRecent(list);
      if (list.length > 1) shared.push({ list, best });
      if (!this.nameHeldBySeveral(k)) strays.push(best);
    });
    const placement = { byDevice, shared, strays };
    this.#placed = { thoth, placement };
    return placement;
  }

  matches(devices: readonly { name: string }[]): boolean {
    if (devices.length !== this.names.length) return false;
    for (let i = 0; i < devices.length; i++) if (devices[i]!.name !== this.names[i]) return false;
    return true;
  }
}

export interface Straggler {
  id: string;
  name: string;
  reason: string;
}

export interface Verdict {
  pass: boolean;
  reason: string;
  total: number;
  active: number;
  inactive: number;
  healthy: number;
  onOldKey: number;
  notCheckedIn: number;
  healthyShare: number;
  stragglers: Straggler[];
  stragglersOmitted: number;
  /** first {@link LIST_LIMIT}, sorted by name */
  inactiveList: { id: string; name: string }[];
  /** identity-drift warnings, at most {@link DRIFT_LIMIT} lines plus one summary line */
  drift: string[];
}

export const NO_ACTIVE_REASON = 'no active endpoint in the group';
const LIST_LIMIT = 50;
export const DRIFT_LIMIT = 50;
/** Shares are ratios of integers; this absorbs the float error of `95%` → 0.95. */
const EPSILON = 1e-9;
const MAX_NAME = 120;

/**
 * The join key for a device name / hostname: lower case, without a `.local` or DNS domain
 * suffix, and with what macOS does to a ComputerName to make its LocalHostName (spaces to
 * `-`, other punctuation dropped), so "Naomi's MacBook Pro" meets `naomis-macbook-pro.local`.
 */
export function hostKey(name: string): string {
  const lower = name.trim().toLowerCase();
  const dot = lower.indexOf('.');
  const host = dot < 0 ? lower : lower.slice(0, dot);
  if (isSimpleHost(host)) return host; // the common case, without the four rewrites below
  return host
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}
/**
 * `^[a-z0-9]+(?:-[a-z0-9]+)*$` without the repeated group: on a name of a few MiB (a device
 * reports its own hostname) V8 backtracks through that group and overflows its stack.
 */
const isSimpleHost = (h: string): boolean =>
  /^[a-z0-9-]+$/.test(h) && !h.startsWith('-') && !h.endsWith('-') && !h.includes('--');

/** API-provided text in a warning: bounded, one line, quoted. Escaping for Markdown happens in the summary. */
function q(s: string): string {
  const one = s.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return JSON.stringify(one.length > MAX_NAME ? `${one.slice(0, MAX_NAME)}…` : one);
}

const valid = (t: EpochMs | undefined): number | undefined => (t === undefined || !Number.isFinite(t) ? undefined : t);

/** Name order: case-insensitive first, then exact, then id. */
function byName(
  a: { id: string; name: string; lower: string },
  b: { id: string; name: string; lower: string },
): number {
  if (a.lower !== b.lower) return a.lower < b.lower ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The first `limit` items in name order, and how many were offered. Only those are kept: early
 * polls of a 50,000-device group have 50,000 stragglers, and sorting them all to show 50 would
 * cost a copy and a sort of the whole group on every poll.
 */
class FirstByName<T extends { id: string; name: string }> {
  readonly #limit: number;
  readonly #kept: (T & { lower: string })[] = [];
  offered = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  offer(id: string, name: string, make: () => T): void {
    this.offered++;
    if (this.#limit === 0) return;
    const probe = { id, name, lower: name.toLowerCase() };
    const kept = this.#kept;
    if (kept.length === this.#limit && byName(probe, kept[kept.length - 1]!) >= 0) return;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byName(kept[mid]!, probe) <= 0) lo = mid + 1;
      else hi = mid;
    }
    kept.splice(lo, 0, { ...make(), lower: probe.lower });
    if (kept.length > this.#limit) kept.pop();
  }

  items(): T[] {
    return this.#kept.map(({ lower: _lower, ...item }) => item as unknown as T);
  }
}

/** Collects drift warnings: the first DRIFT_LIMIT verbatim, the rest counted by kind. */
class DriftLog {
  readonly lines: string[] = [];
  private readonly omitted = new Map<string, number>();
  /** `line` is built only when it will be shown: a drifted 50,000-device group stays cheap. */
  add(kind: string, line: () => string): void {
    if (this.lines.length < DRIFT_LIMIT) this.lines.push(line());
    else this.omitted.set(kind, (this.omitted.get(kind) ?? 0) + 1);
  }
  result(): string[] {
    if (this.omitted.size === 0) return this.lines;
    const total = [...this.omitted.values()].reduce((a, b) => a + b, 0);
    const parts = [...this.omitted].map(([k, n]) => `${k}: ${n}`).join(', ');
    return [...this.lines, `… and ${total} more identity-drift warnings (${parts})`];
  }
}

/** Rounded down (a share of 94.96% must not print as 95.0%), after absorbing float error. */
const pct = (x: number): string => `${(Math.floor(x * 1000 + 1e-6) / 10).toFixed(1)}%`;

/**
 * The device has checked in since the refresh, by any source: it contacted its MDM, its Thoth
 * endpoint (`ep`, as placed by {@link HostJoin.place}) was seen, or it reported health. Says
 * nothing about its key; a poller uses it to ask the MDM only for what could still change.
 */
export function checkedInSince(refreshAt: EpochMs, d: MdmDeviceObs, ep: ThothEndpointObs | undefined): boolean {
  const contact = valid(d.lastContact);
  const seen = valid(ep?.lastSeen);
  const reportedAt = d.health ? valid(d.healthAt) : undefined;
  return (
    (contact !== undefined && contact > refreshAt) ||
    (seen !== undefined && seen > refreshAt) ||
    (reportedAt !== undefined && reportedAt > refreshAt)
  );
}

/**
 * Decides whether validation holds. The MDM group is the population; each device is joined
 * to its Thoth endpoint by host name. A device counts when any of its signals (MDM contact,
 * heartbeat, health report) is within `activeWithinMs` before the refresh. It is healthy only
 * on a fresh key signal naming the new key: a control-plane row whose `managed_runtime_key_id`
 * is the new key with `last_seen` after the refresh, or a health report made after the refresh
 * (`healthAt`) naming it, not revoked nor expired. Having checked in (MDM contact, heartbeat)
 * is not enough: a blank push moves the MDM's timestamps without saying which key the proxy
 * runs, and `managed_runtime_key_id` may be null for MDM-delivered keys. When both sources
 * are fresh the later report is the device's key now (a tie goes to the control plane). With
 * no active device the verdict is a fail: the old key is never revoked on no evidence.
 */
export function decideValidation(input: VerdictInput): Verdict {
  const stragglerLimit = Math.max(0, Math.floor(input.stragglerLimit ?? 50));
  const refreshAt = input.refreshSentAt.getTime();
  const activeSince = refreshAt - input.activeWithinMs;
  const drift = new DriftLog();

  const join = input.join?.matches(input.mdm) ? input.join : new HostJoin(input.mdm);

  const { byDevice: joined, shared, strays } = join.place(input.thoth);
  for (const { list, best } of shared) {
    drift.add(
      'duplicate Thoth hostname',
      () =>
        `${list.length} Thoth endpoints share hostname ${q(best.hostname)} (${list
          .slice(0, 5)
          .map((e) => q(e.endpointId))
          .join(', ')}${list.length > 5 ? ', …' : ''}): using the most recently seen, ${q(best.endpointId)}`,
    );
  }

  const reportedDup = new Set<string>();

  let active = 0;
  let healthy = 0;
  let onOldKey = 0;
  let notCheckedIn = 0;
  const stragglers = new FirstByName<Straggler>(stragglerLimit);
  const inactive = new FirstByName<{ id: string; name: string }>(LIST_LIMIT);

  for (let i = 0; i < input.mdm.length; i++) {
    const d = input.mdm[i]!;
    const k = join.keys[i]!;
    const dupes = join.devicesNamed(k);
    let ep: ThothEndpointObs | undefined;
    if (dupes > 1) {
      if (!reportedDup.has(k)) {
        reportedDup.add(k);
        drift.add('duplicate MDM name', () => `${dupes} MDM devices are named ${q(d.name)}: judged on MDM data only`);
      }
    } else {
      ep = joined[i];
      if (!ep)
        drift.add(
          'no Thoth endpoint',
          () => `MDM device ${q(d.name)} (${q(d.mdmId)}) has no Thoth endpoint in the fleet`,
        );
    }

    // A health value is a key signal only when it was reported after the refresh (spec mdm.md
    // "What is real…", below); an older one still says which key the device ran before.
    const health = d.health;
    const healthOk = health?.status === 'ok';
    const thothKey = ep?.keyId;
    const healthKey = healthOk ? health.keyId : undefined;
    const contact = valid(d.lastContact);
    const seen = valid(ep?.lastSeen);
    const reportedAt = health ? valid(d.healthAt) : undefined;

    const lastSignal = Math.max(contact ?? -Infinity, seen ?? -Infinity, reportedAt ?? -Infinity);
    if (!(lastSignal >= activeSince)) {
      inactive.offer(d.mdmId, d.name, () => ({ id: d.mdmId, name: d.name }));
      continue;
    }
    active++;

    // Key signals made after the refresh; older ones say which key the device ran before.
    const thothFresh = thothKey !== undefined && seen !== undefined && seen > refreshAt;
    const healthFresh = reportedAt !== undefined && reportedAt > refreshAt;
    const freshHealthKey = healthFresh ? healthKey : undefined;
    let key: string | undefined;
    if (thothFresh && freshHealthKey !== undefined) {
      const healthLater = reportedAt! > seen!;
      key = healthLater ? freshHealthKey : thothKey;
      const earlier = healthLater ? thothKey : freshHealthKey;
      // During a rotation a device only moves on to the new key: one that reported it and then
      // another is not the machine the other source describes, or went back.
      if (earlier !== key && earlier === input.newKeyId) {
        drift.add(
          'key id mismatch',
          () =>
            `${q(d.name)}: ${healthLater ? 'Thoth' : 'health'} reported key ${q(earlier)}, then ${healthLater ? 'health' : 'Thoth'} reported ${q(key!)} (using the later)`,
        );
      }
    } else {
      key = thothFresh ? thothKey : freshHealthKey;
    }

    const checkedIn = checkedInSince(refreshAt, d, ep);
    if (!checkedIn) notCheckedIn++;
    const known = key ?? thothKey ?? healthKey;
    if (input.oldKeyId !== undefined && known === input.oldKeyId) onOldKey++;

    // Health flags describe the key the endpoint reported; a report about another key, or from
    // before the refresh, says nothing about the key in use now.
    const flags = healthFresh && healthOk && (healthKey === undefined || healthKey === key) ? health : undefined;
    let reason: string | undefined;
    if (!checkedIn) reason = 'not checked in since refresh';
    else if (key === undefined)
      reason =
        healthFresh && health?.status === 'invalid'
          ? 'health output invalid'
          : 'checked in, but no key signal since refresh';
    else if (input.oldKeyId !== undefined && key === input.oldKeyId) reason = 'still on old key';
    else if (key !== input.newKeyId) reason = `on unknown key ${key}`;
    else if (flags?.revoked === true) reason = 'reports key revoked';
    else if (flags?.expired === true) reason = 'reports key expired';

    if (reason === undefined) healthy++;
    else stragglers.offer(d.mdmId, d.name, () => ({ id: d.mdmId, name: d.name, reason }));
  }

  for (const ep of strays)
    drift.add(
      'no MDM device',
      () => `Thoth endpoint ${q(ep.hostname)} (${q(ep.endpointId)}) has no device in the group`,
    );

  const total = input.mdm.length;
  const healthyShare = active === 0 ? 0 : healthy / active;
  const pass = active > 0 && healthyShare + EPSILON >= input.minHealthy;
  const reason =
    active === 0
      ? NO_ACTIVE_REASON
      : `${healthy}/${active} active endpoints healthy (${pct(healthyShare)}) ${pass ? '≥' : '<'} ${pct(
          input.minHealthy,
        )} required`;

  return {
    pass,
    reason,
    total,
    active,
    inactive: total - active,
    healthy,
    onOldKey,
    notCheckedIn,
    healthyShare,
    stragglers: stragglers.items(),
    stragglersOmitted: Math.max(0, stragglers.offered - stragglerLimit),
    inactiveList: inactive.items(),
    drift: drift.result(),
  };
}
