import type {
  GraphApi,
  GraphStats,
  ManagedDevice,
  RemediationScripts,
  RunState,
  SyncFailure,
} from '../clients/graph.js';
import { type Log, log } from '../log.js';
import type { IntuneTarget, SettingNames } from '../intent/types.js';
import { parseHealth, type HealthReport, type MdmDeviceObs } from '../observations.js';
import { SecretValue } from '../secret-value.js';
import { readManagedSettings, writeManagedSettings } from './mobileconfig.js';
import {
  mergeReadValues,
  readBackProblem,
  type ConfigSnapshot,
  type DesiredValues,
  type DocumentRead,
  type MdmDevice,
  type MdmProvider,
  type Narrowed,
  type RefreshProgress,
  type SnapshotItem,
} from './provider.js';
import { mdmText, ReadValue, sameKeyId, type KeyIdValue } from './read-value.js';
import {
  readDetectionValues,
  readRenderedValues,
  renderDetectionTemplate,
  renderTemplate,
} from './windows-template.js';
import { DETECTION_OUTPUT_LIMIT, runReport } from './run-state.js';

type Kind = 'intune-macos' | 'intune-windows';
type Read = DocumentRead;

export interface IntuneOptions {
  /** The Windows remediation template text (required when the target has `windows`). */
  readonly template?: string;
  /** The Windows detection template text (required when the target has `windows`). */
  readonly detectionTemplate?: string;
  /** `current.keyId` of the intent: the key of a remediation script not rendered from the template. */
  readonly currentKeyId?: string;
  /** Where the provider's diagnostics go (default: the job log). */
  readonly log?: Log;
  /** Managed devices per listing page, to cost a tenant listing in requests (Graph serves ~1000, reference §8.2). */
  readonly listPageSize?: number;
}

/** Entra's placeholder for "no Entra device": many managed devices share it, so it never joins. */
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
function unb64(value: string, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'base64'));
  } catch {
    throw new Error(`intune: ${what} is not base64 of UTF-8 text`);
  }
}
const platformOf = (os: string | null | undefined): 'macos' | 'windows' | undefined =>
  /^mac/i.test(os ?? '') ? 'macos' : /^windows/i.test(os ?? '') ? 'windows' : undefined;
/** A Graph timestamp as epoch milliseconds (verdict.ts EpochMs), or undefined when absent or unreadable. */
function validTime(s: string | null | undefined): number | undefined {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? undefined : t;
}
/** The snapshot item of a remediation: both scripts, base64 as Graph returned them. */
const windowsItem = (id: string, s: RemediationScripts): SnapshotItem => ({
  kind: 'intune-windows',
  id,
  raw: s.remediationScriptContent,
  ...(s.detectionScriptContent !== undefined ? { detectionRaw: s.detectionScriptContent } : {}),
});

/**
 * Microsoft Intune through Graph: a macOS custom configuration (mobileconfig) and/or a
 * Windows remediation (detection + remediation script) carry the settings. Refresh, through
 * paced `$batch`es: `syncDevice` for macOS; for Windows the beta on-demand remediation, because
 * the Intune Management Extension fetches remediation policy only at reboot, sign-in or every
 * 8 hours, never on `syncDevice` (memdocs intune/fundamentals/remediations.md, "Client policy
 * retrieval and client reporting"). `lastSyncDateTime` and, on Windows, the remediation's run
 * state (its time and detection output) validate.
 */
export class IntuneProvider implements MdmProvider {
  readonly name = 'intune' as const;
  readonly #api: GraphApi;
  readonly #target: IntuneTarget;
  readonly #names: SettingNames;
  readonly #o: IntuneOptions;
  readonly #log: Log;
  readonly #macMeta = new Map<string, { payloadName: string; payloadFileName: string }>();
  readonly #said = new Set<string>();
  /** Managed devices in the tenant at the last listing. */
  #tenantDevices: number | undefined;
  /** Each device's platform, from the listings: a Windows device is refreshed by its remediation. */
  readonly #platform = new Map<string, 'macos' | 'windows' | undefined>();
  /** The key id this run wrote into the remediation, and when it asked the devices to run it (diagnostics). */
  #delivered: KeyIdValue | undefined;
  #refreshedAt: number | undefined;

  constructor(api: GraphApi, target: IntuneTarget, names: SettingNames, options: IntuneOptions = {}) {
    if (target.windows && (options.template === undefined || options.detectionTemplate === undefined)) {
      throw new Error('intune: the Windows remediation and detection template texts are required');
    }
    this.#api = api;
    this.#target = target;
    this.#names = names;
    this.#o = options;
    this.#log = options.log ?? log;
  }

  stats(): GraphStats {
    return this.#api.stats();
  }

  progress(): RefreshProgress {
    const { writes, throttled } = this.#api.stats();
    return { writes, throttled };
  }

  async readConfig(): Promise<ConfigSnapshot> {
    const { macos, windows } = this.#target;
    const [mac, win] = await Promise.all([
      macos ? this.#api.getMacosConfiguration(macos.configurationId) : undefined,
      windows ? this.#api.getRemediationScript(windows.remediationId) : undefined,
    ]);
    const items: SnapshotItem[] = [];
    if (macos && mac) {
      this.#macMeta.set(macos.configurationId, { payloadName: mac.payloadName, payloadFileName: mac.payloadFileName });
      items.push({ kind: 'intune-macos', id: macos.configurationId, raw: mac.payload });
    }
    // The raws are base64 exactly as Graph returned them, so a restore is byte-exact.
    if (windows && win) items.push(windowsItem(windows.remediationId, win));
    return this.snapshotFrom(items);
  }

  snapshotFrom(items: readonly SnapshotItem[]): ConfigSnapshot {
    const wanted: Kind[] = [
      ...(this.#target.macos ? ['intune-macos' as const] : []),
      ...(this.#target.windows ? ['intune-windows' as const] : []),
    ];
    const kept: SnapshotItem[] = [];
    const reads: Read[] = [];
    for (const kind of wanted) {
      const item = items.find((i) => i.kind === kind);
      if (!item) throw new Error(`intune: the snapshot holds no ${kind} document`);
      kept.push(item);
      const read = kind === 'intune-macos' ? this.#readMac(item) : this.#readWindows(item);
      if (read) reads.push(read);
    }
    return { items: kept, ...mergeReadValues(reads) };
  }

  #readMac(item: SnapshotItem): Read {
    const v = readManagedSettings(unb64(item.raw, `macOS configuration ${item.id} payload`), this.#names);
    return {
      item,
      keyId: v.keyId,
      apiKey: v.apiKey !== undefined ? new SecretValue(v.apiKey) : undefined,
      revokedKeyIds: v.revokedKeyIds,
    };
  }

  #readWindows(item: SnapshotItem): Read | undefined {
    if (
      item.detectionRaw !== undefined &&
      !readDetectionValues(
        this.#o.detectionTemplate!,
        unb64(item.detectionRaw, `remediation ${item.id} detection script`),
      )
    ) {
      this.#once(
        'info',
        `intune: the detection script of remediation ${item.id} was not rendered from ${this.#target.windows?.detectionTemplate ?? 'the detection template'}; the next write replaces it with the rendered template`,
      );
    }
    const v = readRenderedValues(this.#o.template!, unb64(item.raw, `remediation ${item.id} script`));
    if (v) return { item, keyId: v.keyId, apiKey: new SecretValue(v.apiKey), revokedKeyIds: v.revokedKeyIds };
    // A script written by hand (first rotation) cannot be read back; the intent names its key.
    // It goes the same way as a value read (checked against the tenant's keys before use).
    const current = this.#o.currentKeyId;
    this.#once(
      'warning',
      `intune: remediation ${item.id} was not rendered from ${this.#target.windows?.template ?? 'the template'}; ${current ? `taking its key id from current.keyId (${current})` : 'its key id is unknown (set current.keyId)'}; the next write replaces it with the rendered template`,
    );
    return current ? { item, keyId: new ReadValue(current, 'current.keyId'), revokedKeyIds: [] } : undefined;
  }

  async writeConfig(base: ConfigSnapshot, values: DesiredValues): Promise<void> {
    const written: SnapshotItem[] = [];
    try {
      for (const item of base.items) {
        await this.#write(item, values);
        written.push(item);
      }
    } catch (e) {
      // Never leave macOS and Windows on different keys: put back what this call changed.
      for (const item of written.reverse()) await this.#restore(item).catch(() => undefined);
      throw e;
    }
  }

  async #write(item: SnapshotItem, values: DesiredValues): Promise<void> {
    const wanted = {
      apiKey: values.apiKey.reveal(),
      keyId: mdmText(values.keyId),
      revokedKeyIds: values.revokedKeyIds.map(mdmText),
    };
    if (item.kind === 'intune-macos') {
      const next = writeManagedSettings(unb64(item.raw, `macOS configuration ${item.id} payload`), this.#names, wanted);
      await this.#patchMac(item.id, b64(next));
    } else {
      // The detection script gets the ids only: it compares, the remediation script installs.
      await this.#api.patchRemediationScript(item.id, {
        detectionScriptContent: b64(
          renderDetectionTemplate(this.#o.detectionTemplate!, {
            keyId: wanted.keyId,
            revokedKeyIds: wanted.revokedKeyIds,
          }),
        ),
        remediationScriptContent: b64(renderTemplate(this.#o.template!, wanted)),
      });
    }
    // Read back: the write is done only when Graph serves it.
    const fetched = await this.#fetch(item);
    const back = item.kind === 'intune-macos' ? this.#readMac(fetched) : this.#readWindows(fetched);
    const problem = readBackProblem(values, back);
    if (problem) throw new Error(`intune: ${item.kind} ${item.id} did not read back as written (${problem})`);
    if (item.kind === 'intune-windows') {
      const detection =
        fetched.detectionRaw === undefined
          ? undefined
          : readDetectionValues(
              this.#o.detectionTemplate!,
              unb64(fetched.detectionRaw, `remediation ${item.id} detection script`),
            );
      const detectionProblem = readBackProblem(values, detection);
      if (detectionProblem)
        throw new Error(
          `intune: the detection script of ${item.kind} ${item.id} did not read back as written (${detectionProblem})`,
        );
    }
    this.#delivered = values.keyId;
  }

  async restoreConfig(snapshot: ConfigSnapshot): Promise<void> {
    for (const item of snapshot.items) await this.#restore(item);
  }

  /** PATCH the document back verbatim, then confirm Graph serves the same bytes. */
  async #restore(item: SnapshotItem): Promise<void> {
    if (item.kind === 'intune-macos') await this.#patchMac(item.id, item.raw);
    else if (item.kind === 'intune-windows')
      await this.#api.patchRemediationScript(item.id, {
        remediationScriptContent: item.raw,
        ...(item.detectionRaw !== undefined ? { detectionScriptContent: item.detectionRaw } : {}),
      });
    else throw new Error(`intune: cannot restore a ${item.kind} document`);
    const back = await this.#fetch(item);
    const same = (a: string | undefined, b: string | undefined): boolean =>
      a !== undefined && b !== undefined && Buffer.from(a, 'base64').equals(Buffer.from(b, 'base64'));
    if (!same(back.raw, item.raw) || (item.detectionRaw !== undefined && !same(back.detectionRaw, item.detectionRaw))) {
      throw new Error(`intune: ${item.kind} ${item.id} does not read back as the snapshot after the restore`);
    }
  }

  async #fetch(item: SnapshotItem): Promise<SnapshotItem> {
    if (item.kind === 'intune-windows') return windowsItem(item.id, await this.#api.getRemediationScript(item.id));
    const c = await this.#api.getMacosConfiguration(item.id);
    this.#macMeta.set(item.id, { payloadName: c.payloadName, payloadFileName: c.payloadFileName });
    return { ...item, raw: c.payload };
  }

  async #patchMac(id: string, payload: string): Promise<void> {
    // payloadName / payloadFileName go with every PATCH (spec mdm.md); a sealed snapshot lacks them.
    const meta = this.#macMeta.get(id) ?? (await this.#api.getMacosConfiguration(id));
    await this.#api.patchMacosConfiguration(id, {
      payloadName: meta.payloadName,
      payloadFileName: meta.payloadFileName,
      payload,
    });
  }

  async members(): Promise<MdmDevice[]> {
    const { groupId } = this.#target;
    const [entra, users, all] = await Promise.all([
      this.#api.groupDevices(groupId),
      this.#api.groupUsers(groupId),
      this.#api.managedDevices(),
    ]);
    this.#tenantDevices = all.length;
    // Join Entra deviceId ↔ managedDevice.azureADDeviceId in memory, ids compared case-insensitively.
    const byEntraId = new Map<string, ManagedDevice>();
    for (const m of all) {
      const k = m.azureADDeviceId?.toLowerCase();
      if (!k || k === ZERO_GUID) continue;
      const had = byEntraId.get(k);
      // A re-enrolled machine can leave a stale record behind: the one that synced last is the machine.
      if (!had || (Date.parse(m.lastSyncDateTime ?? '') || 0) > (Date.parse(had.lastSyncDateTime ?? '') || 0))
        byEntraId.set(k, m);
    }
    const found = new Map<string, ManagedDevice>();
    let unmanaged = 0;
    for (const d of entra) {
      const m = d.deviceId ? byEntraId.get(d.deviceId.toLowerCase()) : undefined;
      if (m) found.set(m.id, m);
      else unmanaged++;
    }
    const viaUsers = users.length > 0 ? await this.#api.userManagedDevices(users) : [];
    for (const m of viaUsers) found.set(m.id, m);
    const devices = [...found.values()].filter((m) => this.#targets(m));
    const skipped = found.size - devices.length;
    this.#once(
      'info',
      `intune: group ${groupId}: ${entra.length} device member(s), ${users.length} user member(s) with ${viaUsers.length} managed device(s); ${devices.length} device(s) targeted${unmanaged ? `, ${unmanaged} Entra device(s) not managed by Intune` : ''}${skipped ? `, ${skipped} on a platform this intent does not configure (skipped)` : ''}`,
    );
    return this.#observations(devices);
  }

  /**
   * macOS devices get `syncDevice`; Windows devices the remediation on demand, which makes the
   * Intune Management Extension fetch the remediation now and run its detection script (and,
   * when that exits 1, the remediation script). `syncDevice` would not: the extension fetches
   * remediation policy only at reboot, sign-in or every 8 hours (memdocs remediations.md).
   * Both are device writes, paced on the one "devices" budget.
   */
  async refresh(devices: readonly MdmDevice[]): Promise<string[]> {
    const noId = devices.filter((d) => d.refreshId === '').map((d) => d.mdmId);
    const remediationId = this.#target.windows?.remediationId;
    const sync: string[] = [];
    const remediate: string[] = [];
    for (const d of devices) {
      if (d.refreshId === '') continue;
      (remediationId && this.#platform.get(d.mdmId.toLowerCase()) === 'windows' ? remediate : sync).push(d.refreshId);
    }
    this.#refreshedAt = Date.now();
    const [syncFailed, remediateFailed] = await Promise.all([
      sync.length ? this.#api.syncDevices(sync) : [],
      remediate.length && remediationId ? this.#api.remediateOnDemand(remediate, remediationId) : [],
    ]);
    this.#refused('syncDevice', syncFailed);
    this.#refused('initiateOnDemandProactiveRemediation', remediateFailed);
    return [...noId, ...syncFailed.map((f) => f.id), ...remediateFailed.map((f) => f.id)];
  }

  #refused(action: string, failed: readonly SyncFailure[]): void {
    if (failed.length === 0) return;
    const why = new Map<string, number>();
    for (const f of failed) {
      const k =
        f.status === 404
          ? '404 device gone'
          : f.status === 0
            ? 'no answer'
            : `${f.status}${f.code ? ` ${f.code}` : ''}`;
      why.set(k, (why.get(k) ?? 0) + 1);
    }
    const denied = failed.some((f) => f.status === 403)
      ? `; a 403 means the Entra app lacks the permission for device actions (DeviceManagementManagedDevices.PrivilegedOperations.All, see the README)`
      : '';
    this.#log.warning(
      `intune: ${action} not accepted for ${failed.length} device(s): ${[...why].map(([k, n]) => `${n}× ${k}`).join(', ')}${denied}`,
    );
  }

  async observe(devices: readonly MdmDevice[], narrowed?: Promise<Narrowed>): Promise<MdmDeviceObs[]> {
    // Whichever takes fewer requests: the devices 20 per $batch, or a listing of the tenant
    // (also far lighter on Intune's read budget, which counts each item of a $batch). When even
    // all of `devices` call for the listing, it starts at once, beside the control plane's read.
    const listPages =
      this.#tenantDevices === undefined
        ? Infinity
        : Math.max(1, Math.ceil(this.#tenantDevices / (this.#o.listPageSize ?? 1000)));
    const byBatch = (n: number): boolean => Math.ceil(n / 20) <= listPages;
    const listing = !byBatch(devices.length) ? this.#api.managedDevices() : undefined;
    // Every read of a device carries its sync and remediation times alike: who is known to have
    // checked in changes nothing here.
    if (narrowed) devices = (await narrowed).devices;
    if (devices.length === 0) {
      await listing?.catch(() => undefined);
      return [];
    }
    const want = new Set(devices.map((d) => d.mdmId.toLowerCase()));
    const fresh =
      listing || !byBatch(want.size)
        ? (await (listing ?? this.#api.managedDevices())).filter((m) => want.has(m.id.toLowerCase()))
        : await this.#api.managedDevicesById([...want]);
    return this.#observations(fresh);
  }

  async close(): Promise<void> {
    const s = this.#api.stats();
    this.#log.info(
      `graph: ${s.requests} HTTP request(s) carrying ${s.batchedRequests} $batch item(s); ${s.writes} write(s); ${s.throttled} throttled (429)`,
    );
    await this.#api.close();
  }

  #targets(m: ManagedDevice): boolean {
    const p = platformOf(m.operatingSystem);
    return (p === 'macos' && !!this.#target.macos) || (p === 'windows' && !!this.#target.windows);
  }

  /**
   * Devices with their last contact and, on Windows, the health their remediation last
   * reported. A Windows device's run state is a report to Intune of its own: a run after the
   * refresh shows the device in contact even when its MDM sync (`lastSyncDateTime`) did not
   * move, and its time says whether the health it carries is fresh (`healthAt`, verdict.ts).
   */
  async #observations(devices: readonly ManagedDevice[]): Promise<MdmDevice[]> {
    const windows = this.#target.windows;
    const needHealth = windows && devices.some((m) => platformOf(m.operatingSystem) === 'windows');
    const states = new Map<string, RunState>();
    if (windows && needHealth) {
      for (const s of await this.#api.deviceRunStates(windows.remediationId)) {
        // Run-state ids are `{scriptId}:{managedDeviceId}` when managedDevice is not expanded.
        const id = s.managedDevice?.id ?? s.id.slice(s.id.lastIndexOf(':') + 1);
        states.set(id.toLowerCase(), s);
      }
    }
    let cut = 0;
    let noRemediation = 0;
    const out = devices.map((m): MdmDevice => {
      const platform = platformOf(m.operatingSystem);
      this.#platform.set(m.id.toLowerCase(), platform);
      const synced = validTime(m.lastSyncDateTime);
      let lastContact = synced;
      let health: HealthReport | undefined;
      let healthAt: number | undefined;
      if (needHealth && platform === 'windows') {
        const s = states.get(m.id.toLowerCase());
        const run = s ? runReport(s) : undefined;
        health = run?.health ?? parseHealth(undefined);
        // The output is as old as the run that produced it (verdict.ts: only a run after the refresh counts);
        // on Windows that run is also the device's contact with its MDM.
        healthAt = run?.at?.getTime();
        if (run?.cut) cut++;
        if (healthAt !== undefined && (lastContact === undefined || healthAt > lastContact)) lastContact = healthAt;
        if (
          run &&
          healthAt !== undefined &&
          this.#refreshedAt !== undefined &&
          healthAt > this.#refreshedAt &&
          run.detectionPassed &&
          health.keyId !== undefined &&
          this.#delivered !== undefined &&
          !sameKeyId(this.#delivered, health.keyId)
        )
          noRemediation++;
      }
      return {
        mdmId: m.id,
        name: m.deviceName || `managed device ${m.id}`,
        refreshId: m.id,
        ...(lastContact !== undefined ? { lastContact } : {}),
        ...(health ? { health } : {}),
        ...(healthAt !== undefined ? { healthAt } : {}),
      };
    });
    if (cut > 0) {
      this.#once(
        'warning',
        `intune: ${cut} Windows device(s) printed ${DETECTION_OUTPUT_LIMIT} characters or more from the detection script; Intune keeps only the first ${DETECTION_OUTPUT_LIMIT}, so their health is not used. Make the detection script print compact health JSON (see the README)`,
        'cut',
      );
    }
    if (noRemediation > 0) {
      this.#once(
        'warning',
        `intune: ${noRemediation} Windows device(s) ran the detection script after the refresh and it exited 0 while the device reports another key than the one delivered, so Intune did not run the remediation script; the detection script must exit 1 when the installed key id differs from {{THOTH_API_KEY_ID}}`,
        'no-remediation',
      );
    }
    return out;
  }

  /** Says `message` once per run; with `topic`, only the first message of that topic (counts change between polls). */
  #once(level: 'info' | 'warning', message: string, topic = message): void {
    if (this.#said.has(topic)) return;
    this.#said.add(topic);
    this.#log[level](message);
  }
}
