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
  checkInDelayMs?: [number, number];
  adoptOnProfileUpdate?: boolean;
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

export interface DeviceState { index: number; keyId: string; lastSeen: number; lastCheckIn: number; behaviour: Behaviour }
export interface FleetSnapshot { at: number; devices: DeviceState[]; delivered: ThothSettings[] }

export type Behaviour = 'online' | 'offline' | 'stuck' | 'inactive';
const BEHAVIOURS: readonly Behaviour[] = ['online', 'offline', 'stuck', 'inactive'];
const ONLINE = 0, OFFLINE = 1, STUCK = 2, INACTIVE = 3;
const HOUR = 3_600_000, DAY = 24 * HOUR;
export const JAMF_ID_BASE = 101;

/** What the sims tell the fleet about keys (implemented by the Thoth sim). */
export interface KeyOracle {
  /** true when the key exists, is active (not revoked/expired) and the plaintext matches. */
  verify(keyId: string, apiKey: string): boolean;
  status(keyId: string): { revoked: boolean; expired: boolean };
  used(keyId: string, at: number): void;
}

export interface FleetHooks {
  /** The configuration the endpoint's MDM delivers to it right now; null = none / unreadable. */
  deliver(i: number): ThothSettings | null;
  keys: KeyOracle;
}

export interface EndpointView {
  index: number; endpointId: string; hostname: string; mdmName: string; fleetId: string | null; inFleet: boolean;
  os: 'macos' | 'windows'; behaviour: Behaviour; keyId: string; revokedKnown: string[];
  lastSeen: Date; lastContact: Date; lastCheckIn: Date; lastSync: Date;
  jamfId: number; managementId: string; udid: string; serial: string;
  entraObjectId: string; entraDeviceId: string; managedDeviceId: string;
  health: string | null; refreshes: number; checkIns: number;
}

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
  private readonly hostileNames: readonly string[];
  private readonly osArr: Uint8Array; // 0 macos, 1 windows
  private readonly beh: Uint8Array;
  private readonly drifted: Uint8Array;
  private readonly key: Int32Array;
  private readonly revokedIdx: Int32Array;
  private readonly lastSeenArr: Float64Array;
  private readonly lastContactArr: Float64Array;
  private readonly lastCheckInArr: Float64Array;
  private readonly lastSyncArr: Float64Array;
  private readonly healthKey: Int32Array;
  private readonly healthFlags: Uint8Array; // bit0 revoked, bit1 expired
  private readonly healthAtArr: Float64Array;
  private readonly refreshCount: Uint32Array;
  private readonly checkInCount: Uint32Array;
  private readonly pending: Uint8Array;
  private readonly healthOverride = new Map<number, string | null>();
  private readonly keyTable: string[] = [];
  private readonly keyIndex = new Map<string, number>();
  private readonly revokedTable: string[][] = [[]];
  private readonly revokedIndex = new Map<string, number>([['[]', 0]]);
  private readonly lookups = new Map<string, Map<string, number>>();
  /** Derived ids by kind, computed once: rendering a 2000-computer page would hash 4000 times. */
  private readonly derived = new Map<number, string[]>();
  private readonly listeners: ((i: number) => void)[] = [];
  private readonly refreshListeners: ((i: number) => void)[] = [];
  private readonly queue = new DueQueue((i) => {
    this.pending[i] = 0;
    this.checkIn(i);
  });
  private stopped = false;

  constructor(opts: FleetOptions, seed: number, fleetKeyId: string) {
    this.id = opts.id ?? 'flt-corpsec-macos';
    this.size = opts.size ?? 20;
    this.mdm = opts.mdm ?? 'jamf';
    this.adoptOnProfileUpdate = opts.adoptOnProfileUpdate ?? false;
    this.delayRange = opts.checkInDelayMs ?? [50, 300];
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
    this.lastSeenArr = new Float64Array(n);
    this.lastContactArr = new Float64Array(n);
    this.lastCheckInArr = new Float64Array(n);
    this.lastSyncArr = new Float64Array(n);
    this.healthKey = new Int32Array(n);
    this.healthFlags = new Uint8Array(n);
    this.healthAtArr = new Float64Array(n);
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
    for (let i = 0; i < n; i++) {
      const seen = this.beh[i] === INACTIVE ? now - 30 * DAY - this.rng.next() * DAY : now - this.rng.next() * 4 * HOUR;
      this.lastSeenArr[i] = seen;
      this.lastContactArr[i] = seen;
      this.lastCheckInArr[i] = seen - this.rng.next() * 15 * 60_000;
      this.lastSyncArr[i] = seen;
      this.key[i] = this.healthKey[i] = i < this.size ? fleetKey : -1;
      this.healthAtArr[i] = seen;
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
  setBehaviour(i: number, b: Behaviour): void {
    this.beh[i] = BEHAVIOURS.indexOf(b);
  }
  /** Key id the endpoint runs with ('' for extras, which run no proxy). */
  keyId(i: number): string {
    return this.keyTable[this.key[i] ?? -1] ?? '';
  }
  revokedKnown(i: number): string[] {
    return [...(this.revokedTable[this.revokedIdx[i] ?? 0] ?? [])];
  }
  lastSeen(i: number): number {
    return this.lastSeenArr[i] ?? 0;
  }
  lastContact(i: number): number {
    return this.lastContactArr[i] ?? 0;
  }
  lastCheckIn(i: number): number {
    return this.lastCheckInArr[i] ?? 0;
  }
  lastSync(i: number): number {
    return this.lastSyncArr[i] ?? 0;
  }
  healthAt(i: number): number {
    return this.healthAtArr[i] ?? 0;
  }
  refreshes(i: number): number {
    return this.refreshCount[i] ?? 0;
  }
  checkIns(i: number): number {
    return this.checkInCount[i] ?? 0;
  }

  /** The `thoth health --json` the endpoint last published (null = it publishes nothing). */
  health(i: number): string | null {
    const o = this.healthOverride.get(i);
    if (o !== undefined) return o;
    if (i >= this.size) return null;
    const f = this.healthFlags[i] ?? 0;
    return JSON.stringify({
      registration_ok: true,
      api_key: { key_id: this.keyTable[this.healthKey[i] ?? 0], expired: (f & 2) !== 0, rotation_required: false, revoked: (f & 1) !== 0 },
    });
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
      index: i, endpointId: this.endpointId(i), hostname: this.hostname(i), mdmName: this.mdmName(i),
      fleetId: this.fleetIdOf(i), inFleet: this.inFleet(i), os: this.os(i), behaviour: this.behaviour(i),
      keyId: this.keyId(i), revokedKnown: this.revokedKnown(i),
      lastSeen: new Date(this.lastSeen(i)), lastContact: new Date(this.lastContact(i)),
      lastCheckIn: new Date(this.lastCheckIn(i)), lastSync: new Date(this.lastSync(i)),
      jamfId: this.jamfId(i), managementId: this.managementId(i), udid: this.udid(i), serial: this.serial(i),
      entraObjectId: this.entraObjectId(i), entraDeviceId: this.entraDeviceId(i), managedDeviceId: this.managedDeviceId(i),
      health: this.health(i), refreshes: this.refreshes(i), checkIns: this.checkIns(i),
    };
  }
  /** Views of the fleet's endpoints (extras excluded). */
  endpoints(): EndpointView[] {
    const out: EndpointView[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.endpoint(i));
    return out;
  }
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
      devices.push({ index: i, keyId: this.keyId(i), lastSeen: this.lastSeen(i), lastCheckIn: this.lastCheckIn(i), behaviour: this.behaviour(i) });
      const os = this.os(i);
      if (seenOs.has(os) || !this.hooks) continue;
      seenOs.add(os);
      const d = this.hooks.deliver(i);
      if (d) delivered.push({ ...d, revoked: [...d.revoked] });
    }
    return { at: Date.now(), devices, delivered };
  }

  /** Test API: the endpoint now runs with `keyId` (a user restored a backup; a fleet that regresses after validation). */
  setKey(i: number, keyId: string): void {
    this.key[i] = this.healthKey[i] = this.intern(keyId);
  }

  // ---- refresh / check-in ---------------------------------------------------------------
  /**
   * An MDM asked the device to check in. Online and stuck devices do so after a random delay;
   * a device already due keeps its slot (one wake-up, one check-in).
   */
  refresh(i: number): void {
    if (i < 0 || i >= this.total || this.stopped) return;
    this.refreshCount[i] = (this.refreshCount[i] ?? 0) + 1;
    for (const f of this.refreshListeners) f(i);
    const b = this.beh[i];
    if ((b !== ONLINE && b !== STUCK) || this.pending[i]) return;
    this.pending[i] = 1;
    const [lo, hi] = this.delayRange;
    this.queue.add(Date.now() + this.rng.between(lo, hi), i);
  }

  /** Runs a check-in immediately (tests). */
  checkInNow(i: number): void {
    this.pending[i] = 0;
    this.checkIn(i);
  }

  private checkIn(i: number): void {
    const b = this.beh[i];
    if (b === OFFLINE || b === INACTIVE || !this.hooks) return;
    const now = Date.now();
    this.lastSeenArr[i] = this.lastContactArr[i] = this.lastCheckInArr[i] = this.lastSyncArr[i] = now;
    this.checkInCount[i] = (this.checkInCount[i] ?? 0) + 1;
    if (i >= this.size) return; // no proxy: nothing to read or report
    const delivered = this.hooks.deliver(i);
    if (delivered && b === ONLINE && this.hooks.keys.verify(delivered.keyId, delivered.apiKey)) {
      this.key[i] = this.intern(delivered.keyId);
      this.revokedIdx[i] = this.internRevoked(delivered.revoked);
    }
    const keyId = this.keyId(i);
    const st = this.hooks.keys.status(keyId);
    const revoked = st.revoked || (delivered?.revoked.includes(keyId) ?? false);
    this.healthKey[i] = this.key[i] ?? 0;
    this.healthFlags[i] = (revoked ? 1 : 0) | (st.expired ? 2 : 0);
    this.healthAtArr[i] = now;
    this.hooks.keys.used(keyId, now);
    for (const f of this.listeners) f(i);
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
