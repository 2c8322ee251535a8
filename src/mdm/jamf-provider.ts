import type { JamfApi, JamfComputer } from '../clients/jamf.js';
import type { JamfTarget, SettingNames } from '../intent/types.js';
import { parseHealth, type HealthReport, type MdmDeviceObs } from '../observations.js';
import { SecretValue } from '../secret-value.js';
import { readManagedSettings, writeManagedSettings } from './mobileconfig.js';
import {
  readBackProblem,
  type ConfigSnapshot,
  type DesiredValues,
  type MdmDevice,
  type MdmProvider,
  type Narrowed,
  type SnapshotItem,
} from './provider.js';
import { mdmText, type KeyIdValue } from './read-value.js';

/** Jamf Pro: a macOS configuration profile carries the settings; blank push refreshes. */
export class JamfProvider implements MdmProvider {
  readonly name = 'jamf' as const;
  readonly #api: JamfApi;
  readonly #target: JamfTarget;
  readonly #names: SettingNames;
  readonly #healthCache = new Map<string, HealthReport>();
  readonly #healthCacheMulti = new Map<string, HealthReport>();
  #refreshedAt: Date | undefined;
  #membersReadAt: Date | undefined;

  constructor(api: JamfApi, target: JamfTarget, names: SettingNames) {
    this.#api = api;
    this.#target = target;
    this.#names = names;
  }

  async readConfig(): Promise<ConfigSnapshot> {
    const profile = await this.#api.getProfile(this.#target.profileId);
    return this.snapshotFrom([{ kind: 'jamf-profile', id: String(this.#target.profileId), raw: profile.payloads }]);
  }

  snapshotFrom(items: readonly SnapshotItem[]): ConfigSnapshot {
    const item = items.find((i) => i.kind === 'jamf-profile');
    if (!item) throw new Error('jamf: the snapshot holds no Jamf profile');
    const v = readManagedSettings(item.raw, this.#names);
    return {
      items: [item],
      keyId: v.keyId,
      apiKey: v.apiKey !== undefined ? new SecretValue(v.apiKey) : undefined,
      revokedKeyIds: v.revokedKeyIds,
    };
  }

  async writeConfig(base: ConfigSnapshot, values: DesiredValues): Promise<void> {
    const item = base.items[0]!;
    const next = writeManagedSettings(item.raw, this.#names, {
      apiKey: values.apiKey.reveal(),
      keyId: mdmText(values.keyId),
      revokedKeyIds: values.revokedKeyIds.map(mdmText),
    });
    await this.#api.putProfilePayloads(this.#target.profileId, next);
    await this.#confirm(values.keyId, values.revokedKeyIds);
  }

  async restoreConfig(snapshot: ConfigSnapshot): Promise<void> {
    await this.#api.putProfilePayloads(this.#target.profileId, snapshot.items[0]!.raw);
    await this.#confirm(snapshot.keyId, snapshot.revokedKeyIds);
  }

  /** Read back through the same sticky session: the write is only done when Jamf serves it. */
  async #confirm(keyId: KeyIdValue | undefined, revoked: readonly KeyIdValue[]): Promise<void> {
    const back = readManagedSettings((await this.#api.getProfile(this.#target.profileId)).payloads, this.#names);
    const problem = readBackProblem({ keyId, revokedKeyIds: revoked }, back);
    if (problem) throw new Error(`jamf: profile ${this.#target.profileId} did not read back as written (${problem})`);
  }

  async members(): Promise<MdmDevice[]> {
    // What the poller holds of a device is at least this recent (a second early, as below).
    this.#membersReadAt = new Date(Date.now() - 1000);
    const ids = await this.#api.groupMembers(this.#target.groupId);
    return this.#api.inventory(ids, this.#target.healthAttribute, (c) => this.#toDevice(c));
  }

  async refresh(devices: readonly MdmDevice[]): Promise<string[]> {
    // A device that has not contacted Jamf since this instant cannot have checked in after the
    // refresh: `observe` asks Jamf to leave it out. A second early, so the poller's own refresh
    // time (taken just before this call) is never earlier than the filter.
    this.#refreshedAt = new Date(Date.now() - 1000);
    // The client picks the server's push: by management id (Jamf Pro API) or computer id (Classic).
    return this.#api.blankPush(devices.map((d) => ({ id: Number(d.mdmId), managementId: d.refreshId })));
  }

  /**
   * Fresh observations of these devices (the poller passes only the unconfirmed ones). After a
   * `refresh` by this provider, a device comes back only when Jamf holds something newer about
   * it than the poller does (the group's read in `members`, or an earlier poll):
   *  - one the poller does not know to have checked in since the refresh: when it contacted
   *    Jamf since the group's read (a contact after the refresh is the news);
   *  - one it knows checked in: when it submitted inventory since then. A blank push moves
   *    `lastContact` but not the extension attribute (spec mdm.md "What is real…"), so
   *    re-reading a device that only checked in would download its inventory for nothing.
   *    Without a health attribute Jamf holds nothing more about it, and it is not asked for.
   * What the poller holds for the others stays true (test/unit/observe-differential.test.ts).
   */
  async observe(devices: readonly MdmDevice[], narrowed?: Promise<Narrowed>): Promise<MdmDeviceObs[]> {
    // The ids travel in the request: the fewer, the fewer requests.
    let checkedIn: ReadonlySet<string> = NONE;
    if (narrowed) ({ devices, checkedIn } = await narrowed);
    const since = this.#refreshedAt;
    if (since && !this.#target.healthAttribute) devices = devices.filter((d) => !checkedIn.has(d.mdmId));
    if (devices.length === 0) return [];
    // Counted from the group's read, not the refresh: what the poller holds of a device is that
    // recent, and a contact or a report in between (the key created, authorized, deployed) is news.
    const readAt = this.#membersReadAt;
    const from = since && readAt && readAt < since ? readAt : since;
    const opts = from ? { contactedSince: from, reportedOnly: new Set([...checkedIn].map(Number)) } : {};
    return this.#api.inventory(
      devices.map((d) => Number(d.mdmId)),
      this.#target.healthAttribute,
      (c) => this.#toDevice(c),
      opts,
    );
  }

  async close(): Promise<void> {
    await this.#api.close();
  }

  #toDevice(c: JamfComputer): MdmDevice {
    const at = time(c.lastContact);
    // The extension attribute is as old as the inventory it came with (general.reportDate).
    const reported = time(c.reportDate);
    return {
      mdmId: c.id,
      name: c.name ?? `computer ${c.id}`,
      refreshId: c.managementId ?? '',
      ...(at !== undefined ? { lastContact: at } : {}),
      ...(this.#target.healthAttribute ? { health: this.#health(c.attribute) } : {}),
      ...(this.#target.healthAttribute && reported !== undefined ? { healthAt: reported } : {}),
    };
  }

  /**
   * Most of a fleet reports the same health text (same key, same flags): parse each distinct
   * text once and share the frozen report, so 50,000 devices hold a handful of reports and a
   * poll does not re-parse JSON it has seen. Bounded, in case every text differs.
   */
  #health(values: readonly string[] | undefined): HealthReport {
    if (values === undefined) return MISSING;
    // One value (the usual EA) keys the cache as is; several are keyed by their JSON.
    const cache = values.length === 1 ? this.#healthCache : this.#healthCacheMulti;
    const key = values.length === 1 ? values[0]! : JSON.stringify(values);
    const hit = cache.get(key);
    if (hit) return hit;
    const report = Object.freeze(parseHealth(values));
    if (cache.size >= HEALTH_CACHE_MAX) cache.clear();
    cache.set(key, report);
    return report;
  }
}

const NONE: ReadonlySet<string> = new Set();
const MISSING: HealthReport = Object.freeze({ status: 'missing' });

/** A Jamf timestamp as epoch milliseconds (verdict.ts EpochMs), or undefined when absent or unreadable. */
function time(text: string | undefined): number | undefined {
  const t = text ? Date.parse(text) : NaN;
  return Number.isNaN(t) ? undefined : t;
}
const HEALTH_CACHE_MAX = 1024;
