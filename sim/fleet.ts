/**
 * The simulated fleet shared by every simulator: one row per endpoint, held in parallel typed
 * arrays so 50,000 endpoints cost a few MB and listings stay fast. Identifiers (uuids, serials)
 * are derived from (seed, index) on demand instead of being stored.
 *
 * Indices [0, size) are the fleet; [size, total) are "extra" company devices the same MDM
 * manages but that are outside the target group and run no Thoth proxy (no key, no health),
 * so group membership really matters when an MDM listing is joined.
 */
import type { ThothSettings } from './payloads.js';
import { Beats, Sampled } from './channels.js';
import { DueQueue } from './schedule.js';
import { hashUuid, Rng } from './util.js';

export interface FleetOptions {
  id?: string;
  size?: number;
  os?: 'macos' | 'windows' | 'mixed';
  mdm?: 'jamf' | 'intune';
  offline?: number;
  stuck?: number;
  inactive?: number;
  /** Delay between a refresh (blank push, syncDevice) and the MDM check-in it causes (default [50, 300]). */
  checkInDelayMs?: [number, number];
  adoptOnProfileUpdate?: boolean;
  /** Each signal's own schedule (see {@link ChannelOptions}). */
  channels?: ChannelOptions;
  /** Endpoints whose MDM device name differs from the Thoth hostname (default 0). */
  drift?: number;
  /** Non-fleet devices managed by the same MDM (default 10% of size, rounded up). */
  extra?: number;
  /**
   * Text a laptop's user could put in its name (newlines, `::stop-commands::`, Markdown
   * links...), appended in turn to the names of the fleet's endpoints: the Thoth hostname and
   * so the Jamf / Intune device name (default none). The endpoint's own name stays in front,
   * so names remain unique and still join.
   */
  hostileNames?: readonly string[];
}

/**
 * On a real fleet every signal moves on its own schedule (spec mdm.md "What is real…"); these
 * are the schedules, each endpoint on its own seeded phase. Periods are in milliseconds;
 * Infinity turns a recurring signal off (events still happen).
 */
export interface ChannelOptions {
  /**
   * The proxy's heartbeat to the control plane (`last_seen`, `managed_runtime_key_id`). The
   * real period is not documented (reference/thoth.md §2.3: the proxy's check-in calls are
   * not public); default 1000 so that the control plane sees a new key within a test.
   */
  heartbeatMs?: number;
  /**
   * The Jamf binary's recurring check-in (`general.lastCheckIn`, v1–v3 `lastContactTime`):
   * every 15 minutes by default ("Check-In Frequency ... Every 15 minutes", Jamf Pro
   * Administrator's Guide, Computer Check-In; reference/mdm.md §4.1: nothing in the API makes
   * the binary check in remotely, so a blank push does not cause one).
   */
  agentCheckInMs?: number;
  /**
   * Inventory submission (`general.reportDate`, and with it every extension attribute: a script
   * EA "runs ... each time a computer submits inventory", Jamf Pro Documentation, Extension
   * Attribute Input Types). Default weekly: "the preconfigured Update Inventory policy ...
   * collects inventory from all computers once every week" (Jamf Pro Documentation 11.16,
   * Computer Inventory Information). A blank push does not cause one.
   */
  inventoryMs?: number;
  /** A policy with "Update Inventory" runs at every recurring check-in (default false). */
  inventoryOnAgentCheckIn?: boolean;
  /**
   * Inventory submitted this long after each MDM check-in: what an admin gets with a
   * LaunchDaemon (WatchPaths on the managed preferences) or a policy that runs `jamf recon`
   * once the profile is installed (default: not configured).
   */
  inventoryAfterMdmCheckInMs?: [number, number];
  /**
   * Intune's own device check-in (`lastSyncDateTime`, and the profile installed with it):
   * "About every 8 hours" (memdocs intune/configuration/device-profile-troubleshoot.md).
   */
  intuneSyncMs?: number;
}

export interface DeviceState {
  index: number;
  keyId: string;
  lastSeen: number;
  lastCheckIn: number;
  behaviour: Behaviour;
}
export interface FleetSnapshot {
  at: number;
  devices: DeviceState[];
  delivered: ThothSettings[];
}

export type Behaviour = 'online' | 'offline' | 'stuck' | 'inactive';
const BEHAVIOURS: readonly Behaviour[] = ['online', 'offline', 'stuck', 'inactive'];
const ONLINE = 0,
  OFFLINE = 1,
  STUCK = 2,
  INACTIVE = 3;
const MINUTE = 60_000,
  HOUR = 60 * MINUTE,
  DAY = 24 * HOUR;
export const JAMF_ID_BASE = 101;

/** What the sims tell the fleet about keys (implemented by the Thoth sim). */
export interface KeyOracle {
  /** true when the key exists, is active (not revoked/expired) and the plaintext matches. */
  verify(keyId: string, apiKey: string): boolean;
  /** The key's state at `at` (default now): a report made then says what it was then. */
  status(keyId: string, at?: number): { revoked: boolean; expired: boolean };
  used(keyId: string, at: number): void;
}

export interface FleetHooks {
  /** The configuration the endpoint's MDM delivers to it right now; null = none / unreadable. */
  deliver(i: number): ThothSettings | null;
  /** What the group's configuration holds for the device however it is delivered (default: `deliver`). */
  configured?(i: number): ThothSettings | null;
  keys: KeyOracle;
}

export interface EndpointView {
  index: number;
  endpointId: string;
  hostname: string;
  mdmName: string;
  fleetId: string | null;
  inFleet: boolean;
  os: 'macos' | 'windows';
  behaviour: Behaviour;
  keyId: string;
  revokedKnown: string[];
  lastSeen: Date;
  lastContact: Date;
  lastCheckIn: Date;
  lastSync: Date;
  reportDate: Date;
  lastMdmCheckIn: Date;
  jamfId: number;
  managementId: string;
  udid: string;
  serial: string;
  entraObjectId: string;
  entraDeviceId: string;
  managedDeviceId: string;
  health: string | null;
  inventoryHealth: string | null;
  refreshes: number;
  checkIns: number;
}

/** DueQueue entries carry a kind in their low bits. */
const MDM_CHECK_IN = 0,
  INTUNE_SYNC = 1,
  RECON = 2,
  KINDS = 4;

/**
 * The simulated fleet. Each endpoint's signals are separate channels on their own schedules
 * (spec mdm.md "What is real…"):
 *  - MDM check-in: caused by a refresh (blank push, syncDevice) after a delay, or by Intune's
 *    own cycle. It installs the delivered profile; an online proxy adopts the key in it when
 *    the control plane says the key is valid. Moves Jamf v4 `lastContact` (its most recent
 *    communication by any channel, MDM acknowledgements included: go-sdk-jamfpro-v2
 *    computer_inventory models, reference/mdm.md §3.3), the profile's `lastInstalled` and
 *    Intune `lastSyncDateTime`. It does NOT make the Jamf binary check in or submit inventory.
 *  - agent check-in (Jamf binary, `lastCheckIn`), inventory (`reportDate` and the extension
 *    attribute as of that moment), the proxy heartbeat (`last_seen` and the key it runs then):
 *    recurring, computed when read (channels.ts).
 *  - remediation run (Windows on Intune): the Intune Management Extension (sim/remediation.ts,
 *    its own 8-hour cycle or the on-demand action, never a sync) calls `runRemediation`.
 */
export class Fleet {
  readonly id: string;
  readonly size: number;
  readonly total: number;
  readonly mdm: 'jamf' | 'intune';
  readonly adoptOnProfileUpdate: boolean;
  hooks: FleetHooks | undefined;

  private readonly seed: number;
  private readonly rng: Rng;
  private readonly delayRange: [number, number];
  private readonly channels: Required<Omit<ChannelOptions, 'inventoryAfterMdmCheckInMs'>> & {
    inventoryAfterMdmCheckInMs?: [number, number];
  };
  private readonly hostileNames: readonly string[];
  private readonly osArr: Uint8Array; // 0 macos, 1 windows
  private readonly beh: Uint8Array;
  private readonly drifted: Uint8Array;
  /** The key the proxy runs with and the revoked list of the installed profile; since when. */
  private readonly key: Int32Array;
  private readonly revokedIdx: Int32Array;
  private readonly changedAt: Float64Array;
  /** Since when the device is on (its recurring signals beat); Infinity while it is off. */
  private readonly upSince: Float64Array;
  private readonly heartbeat: Beats;
  private readonly agent: Beats;
  private readonly inventory: Beats;
  private readonly heartbeatSaw: Sampled;
  private readonly inventorySaw: Sampled;
  /** Latest MDM check-in (profile installed) and Intune sync, events only. */
  private readonly lastMdmArr: Float64Array;
  private readonly lastSyncArr: Float64Array;
  private readonly initialRunAt: Float64Array;
  private readonly refreshCount: Uint32Array;
  private readonly checkInCount: Uint32Array;
  private readonly pending: Uint8Array;
  private readonly healthOverride = new Map<number, string | null>();
  private readonly healthText = new Map<string, string>();
  private readonly keyTable: string[] = [];
  private readonly keyIndex = new Map<string, number>();
  private readonly revokedTable: string[][] = [[]];
  private readonly revokedIndex = new Map<string, number>([['[]', 0]]);
  private readonly lookups = new Map<string, Map<string, number>>();
  /** Derived ids by kind, computed once: rendering a 2000-computer page would hash 4000 times. */
  private readonly derived = new Map<number, string[]>();
  private readonly listeners: ((i: number) => void)[] = [];
  private readonly refreshListeners: ((i: number) => void)[] = [];
  private readonly queue = new DueQueue((entry) => this.due(entry));
  private stopped = false;

  constructor(opts: FleetOptions, seed: number, fleetKeyId: string) {
    this.id = opts.id ?? 'flt-corpsec-macos';
    this.size = opts.size ?? 20;
    this.mdm = opts.mdm ?? 'jamf';
    this.adoptOnProfileUpdate = opts.adoptOnProfileUpdate ?? false;
    this.delayRange = opts.checkInDelayMs ?? [50, 300];
    const c = opts.channels ?? {};
    this.channels = {
      heartbeatMs: c.heartbeatMs ?? 1000,
      agentCheckInMs: c.agentCheckInMs ?? 15 * MINUTE,
      inventoryMs: c.inventoryMs ?? 7 * DAY,
      inventoryOnAgentCheckIn: c.inventoryOnAgentCheckIn ?? false,
      intuneSyncMs: c.intuneSyncMs ?? 8 * HOUR,
      ...(c.inventoryAfterMdmCheckInMs ? { inventoryAfterMdmCheckInMs: c.inventoryAfterMdmCheckInMs } : {}),
    };
    this.hostileNames = opts.hostileNames ?? [];
    this.seed = seed;
    this.rng = new Rng(seed * 7919 + 17);
    const extra = opts.extra ?? Math.ceil(this.size * 0.1);
    const n = (this.total = this.size + extra);
    this.osArr = new Uint8Array(n);
    this.beh = new Uint8Array(n);
    this.drifted = new Uint8Array(n);
    this.key = new Int32Array(n);
    this.revokedIdx = new Int32Array(n);
    this.changedAt = new Float64Array(n).fill(-Infinity);
    this.upSince = new Float64Array(n);
    this.lastMdmArr = new Float64Array(n);
    this.lastSyncArr = new Float64Array(n);
    this.initialRunAt = new Float64Array(n);
    this.refreshCount = new Uint32Array(n);
    this.checkInCount = new Uint32Array(n);
    this.pending = new Uint8Array(n);

    const os = opts.os ?? 'macos';
    const fleetKey = this.intern(fleetKeyId);
    for (let i = 0; i < n; i++) this.osArr[i] = os === 'windows' ? 1 : os === 'mixed' ? i % 2 : 0;
    // Behaviours and drift go to seeded, scattered endpoints so they land on every page.
    const order = this.shuffled(this.size);
    let at = 0;
    const assign = (count: number | undefined, b: number): void => {
      for (let k = 0; k < (count ?? 0) && at < order.length; k++) this.beh[order[at++] ?? 0] = b;
    };
    assign(opts.stuck, STUCK);
    assign(opts.offline, OFFLINE);
    assign(opts.inactive, INACTIVE);
    const driftOrder = this.shuffled(this.size);
    for (let k = 0; k < Math.min(opts.drift ?? 0, this.size); k++) this.drifted[driftOrder[k] ?? 0] = 1;

    const now = Date.now();
    // When each device was last heard of: recently for those that are on now (the recurring
    // signals take over from there), hours ago for offline ones, a month ago for inactive ones.
    const seen = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.beh[i];
      seen[i] = b === INACTIVE ? now - 30 * DAY - this.rng.next() * DAY : now - this.rng.next() * 4 * HOUR;
      this.upSince[i] = b === OFFLINE || b === INACTIVE ? Infinity : -Infinity;
      this.key[i] = i < this.size ? fleetKey : -1;
      this.lastMdmArr[i] = this.lastSyncArr[i] = this.initialRunAt[i] = seen[i]!;
    }
    const ch = this.channels;
    this.heartbeat = new Beats(n, ch.heartbeatMs, this.rng, now, (i) => seen[i]!);
    this.agent = new Beats(n, ch.agentCheckInMs, this.rng, now, (i) => seen[i]! - this.rng.next() * 15 * MINUTE);
    this.inventory = new Beats(n, ch.inventoryMs, this.rng, now, (i) => seen[i]! - this.rng.next() * DAY);
    this.heartbeatSaw = new Sampled(n, (i) => this.key[i] ?? -1);
    this.inventorySaw = new Sampled(n, (i) => this.key[i] ?? -1);
    // Intune's own check-ins change what a device runs (it installs the profile), so they are
    // events, each on its seeded phase; every 8 hours by default, none within a test.
    if (this.mdm === 'intune' && Number.isFinite(ch.intuneSyncMs)) {
      for (let i = 0; i < n; i++) this.queue.add(now + this.rng.next() * ch.intuneSyncMs, i * KINDS + INTUNE_SYNC);
    }
  }

  // ---- identity (derived, not stored) ---------------------------------------------------
  private pad(i: number): string {
    return String(i + 1).padStart(5, '0');
  }
  endpointId(i: number): string {
    return i < this.size ? `ep-${this.pad(i)}` : `ep-x${this.pad(i - this.size)}`;
  }
  hostname(i: number): string {
    const base = this.osArr[i] === 1 ? 'win' : 'mac';
    if (i >= this.size) return `${base}-x${this.pad(i - this.size)}`;
    return `${base}-${this.pad(i)}${this.hostileNames.length ? this.hostileNames[i % this.hostileNames.length] : ''}`;
  }
  /** Device name in Jamf / Intune: the hostname, unless this endpoint drifted. */
  mdmName(i: number): string {
    return this.drifted[i] ? `${this.osArr[i] === 1 ? 'DESKTOP' : 'MacBook Pro'} ${this.serial(i)}` : this.hostname(i);
  }
  os(i: number): 'macos' | 'windows' {
    return this.osArr[i] === 1 ? 'windows' : 'macos';
  }
  inFleet(i: number): boolean {
    return i < this.size;
  }
  /** The Thoth fleet of a device; null for extras (no proxy). */
  fleetIdOf(i: number): string | null {
    return i < this.size ? this.id : null;
  }
  jamfId(i: number): number {
    return JAMF_ID_BASE + i;
  }
  managementId(i: number): string {
    return this.derivedId(1, i);
  }
  udid(i: number): string {
    return this.derivedId(2, i).toUpperCase();
  }
  entraObjectId(i: number): string {
    return this.derivedId(3, i);
  }
  entraDeviceId(i: number): string {
    return this.derivedId(4, i);
  }
  managedDeviceId(i: number): string {
    return this.derivedId(5, i);
  }
  serial(i: number): string {
    return `C02${this.derivedId(6, i).replace(/-/g, '').slice(0, 9).toUpperCase()}`;
  }
  /** Is this device in Jamf inventory / Intune managed devices? */
  inJamf(i: number): boolean {
    return this.mdm === 'jamf' && this.osArr[i] === 0;
  }
  inIntune(_i: number): boolean {
    return this.mdm === 'intune';
  }

  indexByJamfId(id: number): number | undefined {
    const i = id - JAMF_ID_BASE;
    return Number.isInteger(i) && i >= 0 && i < this.total ? i : undefined;
  }
  indexByEndpointId(id: string): number | undefined {
    return this.lookup('ep', id, (i) => this.endpointId(i));
  }
  indexByManagementId(id: string): number | undefined {
    return this.lookup('mgmt', id.toLowerCase(), (i) => this.managementId(i));
  }
  indexByManagedDeviceId(id: string): number | undefined {
    return this.lookup('md', id.toLowerCase(), (i) => this.managedDeviceId(i));
  }
  private derivedId(kind: number, i: number): string {
    let ids = this.derived.get(kind);
    if (!ids) this.derived.set(kind, (ids = []));
    return (ids[i] ??= hashUuid(this.seed, kind, i));
  }
  /** Builds the reverse maps now, as a real server has its indexes before the first request (benchmarks). */
  warm(): void {
    this.indexByEndpointId('');
    this.indexByManagementId('');
    this.indexByManagedDeviceId('');
  }
  /** Reverse maps are built lazily on first use: most runs only ever need one of them. */
  private lookup(kind: string, key: string, f: (i: number) => string): number | undefined {
    let m = this.lookups.get(kind);
    if (!m) {
      m = new Map();
      for (let i = 0; i < this.total; i++) m.set(f(i), i);
      this.lookups.set(kind, m);
    }
    return m.get(key);
  }

  // ---- state ----------------------------------------------------------------------------
  behaviour(i: number): Behaviour {
    return BEHAVIOURS[this.beh[i] ?? 0] ?? 'online';
  }
  /** Turning a device off freezes its recurring signals where they are; turning it on restarts them now. */
  setBehaviour(i: number, b: Behaviour): void {
    const now = Date.now();
    const wasUp = this.isUp(i);
    this.beh[i] = BEHAVIOURS.indexOf(b);
    const up = this.isUp(i);
    if (wasUp && !up) {
      for (const beats of [this.heartbeat, this.agent, this.inventory])
        beats.event(i, beats.last(i, now, this.upSince[i] ?? Infinity));
      this.upSince[i] = Infinity;
    } else if (!wasUp && up) {
      this.upSince[i] = now;
    }
  }
  private isUp(i: number): boolean {
    const b = this.beh[i];
    return b === ONLINE || b === STUCK;
  }
  /** Key id the endpoint runs with ('' for extras, which run no proxy). */
  keyId(i: number): string {
    return this.keyTable[this.key[i] ?? -1] ?? '';
  }
  revokedKnown(i: number): string[] {
    return [...(this.revokedTable[this.revokedIdx[i] ?? 0] ?? [])];
  }

  // ---- what each channel last reported ----------------------------------------------------
  /** The proxy's last heartbeat to the control plane (`last_seen`). */
  lastSeen(i: number, now = Date.now()): number {
    return this.heartbeat.last(i, now, i < this.size ? (this.upSince[i] ?? Infinity) : Infinity);
  }
  /** The key the proxy ran at its last heartbeat ('' for extras). */
  reportedKeyId(i: number, now = Date.now()): string {
    const at = this.lastSeen(i, now);
    return this.keyTable[this.heartbeatSaw.keyAt(i, at, this.changedAt[i] ?? -Infinity, this.key[i] ?? -1)] ?? '';
  }
  /** The Jamf binary's last check-in (`lastCheckIn`; v1–v3 `lastContactTime`): recurring, or with an inventory submission. */
  lastCheckIn(i: number, now = Date.now()): number {
    const up = this.upSince[i] ?? Infinity;
    return Math.max(this.agent.last(i, now, up), this.reportDate(i, now));
  }
  /** Jamf v4 `general.lastContact`: the most recent communication by any channel. */
  lastContact(i: number, now = Date.now()): number {
    return Math.max(this.lastCheckIn(i, now), this.lastMdmArr[i] ?? 0);
  }
  /** The last inventory submission (`general.reportDate`). */
  reportDate(i: number, now = Date.now()): number {
    const up = this.upSince[i] ?? Infinity;
    const own = this.inventory.last(i, now, up);
    return this.channels.inventoryOnAgentCheckIn ? Math.max(own, this.agent.last(i, now, up)) : own;
  }
  /** The last MDM check-in (profile installed; Jamf `lastInstalled`). */
  lastMdmCheckIn(i: number): number {
    return this.lastMdmArr[i] ?? 0;
  }
  /** Intune `lastSyncDateTime`. */
  lastSync(i: number): number {
    return this.lastSyncArr[i] ?? 0;
  }
  /** The first recurring heartbeat / inventory after `t` (what a benchmark needs to know when a key becomes visible). */
  nextHeartbeat(i: number, t: number): number {
    return this.heartbeat.next(i, t);
  }
  nextInventory(i: number, t: number): number {
    const own = this.inventory.next(i, t);
    return this.channels.inventoryOnAgentCheckIn ? Math.min(own, this.agent.next(i, t)) : own;
  }
  refreshes(i: number): number {
    return this.refreshCount[i] ?? 0;
  }
  /** MDM check-ins (profile installed) since the start. */
  checkIns(i: number): number {
    return this.checkInCount[i] ?? 0;
  }

  /** The `thoth health --json` the endpoint would print now (null = it has no proxy, or an override). */
  health(i: number): string | null {
    return this.healthOf(i, this.key[i] ?? -1, this.revokedIdx[i] ?? 0, Date.now());
  }
  /** The extension attribute's value: the health as of the last inventory submission. */
  inventoryHealth(i: number, now = Date.now()): string | null {
    const at = this.reportDate(i, now);
    const since = this.changedAt[i] ?? -Infinity;
    return this.healthOf(
      i,
      this.inventorySaw.keyAt(i, at, since, this.key[i] ?? -1),
      this.inventorySaw.revAt(i, at, since, this.revokedIdx[i] ?? 0),
      at,
    );
  }
  private healthOf(i: number, key: number, rev: number, at: number): string | null {
    const o = this.healthOverride.get(i);
    if (o !== undefined) return o;
    if (i >= this.size) return null;
    const keyId = this.keyTable[key] ?? '';
    const st = this.hooks?.keys.status(keyId, at) ?? { revoked: false, expired: false };
    return this.text(keyId, st.revoked || (this.revokedTable[rev]?.includes(keyId) ?? false), st.expired);
  }
  /** Health texts are shared: a fleet reports a handful of distinct ones. */
  private text(keyId: string, revoked: boolean, expired: boolean): string {
    const sig = `${keyId}|${revoked ? 1 : 0}${expired ? 1 : 0}`;
    let t = this.healthText.get(sig);
    if (t === undefined) {
      t = JSON.stringify({
        registration_ok: true,
        api_key: { key_id: keyId, expired, rotation_required: false, revoked },
      });
      this.healthText.set(sig, t);
    }
    return t;
  }
  /** Sticky override of the published health (e.g. non-JSON, or null for a device without the proxy). */
  setHealth(i: number, raw: string | null | undefined): void {
    if (raw === undefined) this.healthOverride.delete(i);
    else this.healthOverride.set(i, raw);
  }

  indices(filter?: { inFleet?: boolean; behaviour?: Behaviour; os?: 'macos' | 'windows' }): number[] {
    const out: number[] = [];
    const end = filter?.inFleet === false ? this.total : filter?.inFleet ? this.size : this.total;
    for (let i = filter?.inFleet === false ? this.size : 0; i < end; i++) {
      if (filter?.behaviour && this.behaviour(i) !== filter.behaviour) continue;
      if (filter?.os && this.os(i) !== filter.os) continue;
      out.push(i);
    }
    return out;
  }
  /** Number of fleet endpoints (not extras) currently on each key id. */
  keyCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.size; i++) {
      const k = this.keyId(i);
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
  endpoint(i: number): EndpointView {
    return {
      index: i,
      endpointId: this.endpointId(i),
      hostname: this.hostname(i),
      mdmName: this.mdmName(i),
      fleetId: this.fleetIdOf(i),
      inFleet: this.inFleet(i),
      os: this.os(i),
      behaviour: this.behaviour(i),
      keyId: this.keyId(i),
      revokedKnown: this.revokedKnown(i),
      lastSeen: new Date(this.lastSeen(i)),
      lastContact: new Date(this.lastContact(i)),
      lastCheckIn: new Date(this.lastCheckIn(i)),
      lastSync: new Date(this.lastSync(i)),
      reportDate: new Date(this.reportDate(i)),
      lastMdmCheckIn: new Date(this.lastMdmCheckIn(i)),
      jamfId: this.jamfId(i),
      managementId: this.managementId(i),
      udid: this.udid(i),
      serial: this.serial(i),
      entraObjectId: this.entraObjectId(i),
      entraDeviceId: this.entraDeviceId(i),
      managedDeviceId: this.managedDeviceId(i),
      health: this.health(i),
      inventoryHealth: this.inventoryHealth(i),
      refreshes: this.refreshes(i),
      checkIns: this.checkIns(i),
    };
  }
  /** Views of the fleet's endpoints (extras excluded). */
  endpoints(): EndpointView[] {
    const out: EndpointView[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.endpoint(i));
    return out;
  }
  /** Called after every MDM check-in (refresh, Intune cycle) and Windows remediation run, once the device has adopted what it would. */
  onCheckIn(f: (i: number) => void): void {
    this.listeners.push(f);
  }
  /** Called on every refresh request an MDM relays to a device (the test oracle's refresh clock). */
  onRefresh(f: (i: number) => void): void {
    this.refreshListeners.push(f);
  }

  /**
   * What the fleet looks like right now, for the test oracle (test/oracle): each fleet endpoint's
   * key, last contact and behaviour, and the distinct configurations the group's MDM delivers
   * (one per OS present). Taken by the Thoth sim at every DELETE, so the oracle judges the
   * moment of revocation, not the end state.
   */
  snapshot(): FleetSnapshot {
    const devices: DeviceState[] = [];
    const delivered: ThothSettings[] = [];
    const seenOs = new Set<string>();
    for (let i = 0; i < this.size; i++) {
      // "Checked in after the refresh": the device's last contact by any channel, or the moment it
      // installed its key (a Windows remediation run moves no other timestamp).
      devices.push({
        index: i,
        keyId: this.keyId(i),
        lastSeen: this.lastSeen(i),
        lastCheckIn: Math.max(this.lastContact(i), this.changedAt[i] ?? 0),
        behaviour: this.behaviour(i),
      });
      const os = this.os(i);
      if (seenOs.has(os) || !this.hooks) continue;
      seenOs.add(os);
      const d = this.hooks.configured ? this.hooks.configured(i) : this.hooks.deliver(i);
      if (d) delivered.push({ ...d, revoked: [...d.revoked] });
    }
    return { at: Date.now(), devices, delivered };
  }

  /** Test API: the endpoint now runs with `keyId` (a user restored a backup; a fleet that regresses after validation). */
  setKey(i: number, keyId: string): void {
    const at = Date.now();
    const since = this.changedAt[i] ?? -Infinity;
    const up = this.upSince[i] ?? Infinity;
    const cur = this.key[i] ?? -1,
      curRev = this.revokedIdx[i] ?? 0;
    // Reports made before now keep what they saw, as after an install.
    this.heartbeatSaw.beforeChange(i, this.heartbeat.last(i, at - 1e-3, up), since, cur, curRev);
    this.inventorySaw.beforeChange(i, this.reportDate(i, at - 1e-3), since, cur, curRev);
    this.key[i] = this.intern(keyId);
    this.changedAt[i] = at;
  }

  // ---- events -------------------------------------------------------------------------------
  /**
   * An MDM asked the device to check in. Online and stuck devices do so after a random delay;
   * a device already due keeps its slot (one wake-up, one check-in).
   */
  refresh(i: number): void {
    if (i < 0 || i >= this.total || this.stopped) return;
    this.refreshCount[i] = (this.refreshCount[i] ?? 0) + 1;
    for (const f of this.refreshListeners) f(i);
    if (!this.isUp(i) || this.pending[i]) return;
    this.pending[i] = 1;
    const [lo, hi] = this.delayRange;
    this.queue.add(Date.now() + this.rng.between(lo, hi), i * KINDS + MDM_CHECK_IN);
  }

  /**
   * A refresh request reached the device by another channel than an MDM check-in (Intune's
   * on-demand remediation): only the refresh listeners (the test oracle's clock) hear of it.
   */
  refreshRelayed(i: number): void {
    if (i < 0 || i >= this.total || this.stopped) return;
    for (const f of this.refreshListeners) f(i);
  }

  /** Runs an MDM check-in immediately (tests). */
  checkInNow(i: number): void {
    this.pending[i] = 0;
    this.mdmCheckIn(i);
  }

  /** Submits inventory now, as `jamf recon` would (tests; events of the inventory channel). */
  reconNow(i: number): void {
    if (!this.isUp(i)) return;
    this.inventory.event(i, Date.now());
  }

  private due(entry: number): void {
    const i = Math.floor(entry / KINDS);
    const kind = entry % KINDS;
    if (kind === MDM_CHECK_IN) {
      this.pending[i] = 0;
      this.mdmCheckIn(i);
    } else if (kind === INTUNE_SYNC) {
      this.mdmCheckIn(i);
      this.queue.add(Date.now() + this.channels.intuneSyncMs, entry);
    } else if (kind === RECON) {
      this.reconNow(i);
    }
  }

  /** The device checks in with its MDM: the delivered profile is installed (Jamf, Intune macOS). */
  private mdmCheckIn(i: number): void {
    if (!this.isUp(i) || !this.hooks) return;
    const now = Date.now();
    this.lastMdmArr[i] = now;
    if (this.mdm === 'intune') this.lastSyncArr[i] = now;
    this.checkInCount[i] = (this.checkInCount[i] ?? 0) + 1;
    if (i < this.size) {
      // Windows on Intune gets its key only from a remediation run (sim/remediation.ts): a sync
      // reaches the MDM channel, not the Intune Management Extension (memdocs
      // intune/fundamentals/remediations.md, "Client policy retrieval and client reporting").
      if (!(this.mdm === 'intune' && this.osArr[i] === 1)) this.install(i, now);
      this.hooks.keys.used(this.keyId(i), now);
      const after = this.channels.inventoryAfterMdmCheckInMs;
      if (after) this.queue.add(now + this.rng.between(after[0], after[1]), i * KINDS + RECON);
    }
    for (const f of this.listeners) f(i);
  }

  /**
   * The device installs what its MDM delivers (a profile, or on Windows the remediation script's
   * settings): the revoked list always, the key when the proxy is online and the control plane
   * says the key is valid (a stuck proxy keeps its key).
   */
  private install(i: number, at: number, delivered = this.hooks?.deliver(i) ?? null): boolean {
    const hooks = this.hooks;
    if (!hooks || !delivered) return false;
    const adopt = this.beh[i] === ONLINE && hooks.keys.verify(delivered.keyId, delivered.apiKey);
    const key = adopt ? this.intern(delivered.keyId) : (this.key[i] ?? -1);
    const rev = this.internRevoked(delivered.revoked);
    if (key === this.key[i] && rev === this.revokedIdx[i]) return false;
    // Reports made before now keep what they saw (channels.ts Sampled).
    const since = this.changedAt[i] ?? -Infinity;
    const up = this.upSince[i] ?? Infinity;
    const cur = this.key[i] ?? -1,
      curRev = this.revokedIdx[i] ?? 0;
    this.heartbeatSaw.beforeChange(i, this.heartbeat.last(i, at - 1e-3, up), since, cur, curRev);
    this.inventorySaw.beforeChange(i, this.reportDate(i, at - 1e-3), since, cur, curRev);
    this.key[i] = key;
    this.revokedIdx[i] = rev;
    this.changedAt[i] = at;
    return key !== cur;
  }

  // ---- remediation run (Intune Windows) ---------------------------------------------------
  // The Intune Management Extension's own channel, apart from MDM check-ins: sim/remediation.ts
  // decides when it runs (8-hour cycle, on-demand action, restart) and keeps the run state;
  // these are what a run does on the endpoint.

  /**
   * The remediation script ran with these settings: they are installed as a profile's would be
   * (an online endpoint adopts a valid key; reports made before keep what they saw); nothing
   * else moves (no MDM check-in, no sync, no heartbeat). Returns whether the proxy changed key.
   */
  runRemediation(i: number, s: ThothSettings | null): boolean {
    if (!s || i < 0 || i >= this.size || !this.isUp(i) || !this.hooks) return false;
    const now = Date.now();
    const changed = this.install(i, now, s);
    if (changed) this.hooks.keys.used(s.keyId, now);
    // The run is the Windows device's contact with its configuration (the test oracle's clock).
    for (const f of this.listeners) f(i);
    return changed;
  }

  /** When the device last reported its remediation before the simulation began (the IME's first run state). */
  remediationReportedAt(i: number): number {
    return this.initialRunAt[i] ?? 0;
  }

  private intern(keyId: string): number {
    let k = this.keyIndex.get(keyId);
    if (k === undefined) {
      k = this.keyTable.push(keyId) - 1;
      this.keyIndex.set(keyId, k);
    }
    return k;
  }
  private internRevoked(ids: string[]): number {
    const sig = JSON.stringify(ids);
    let k = this.revokedIndex.get(sig);
    if (k === undefined) {
      k = this.revokedTable.push([...ids]) - 1;
      this.revokedIndex.set(sig, k);
    }
    return k;
  }
  private shuffled(n: number): Int32Array {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      const t = a[i] ?? 0;
      a[i] = a[j] ?? 0;
      a[j] = t;
    }
    return a;
  }

  /** Stops pending check-ins (simulators closing). */
  stop(): void {
    this.stopped = true;
    this.queue.stop();
  }
}
