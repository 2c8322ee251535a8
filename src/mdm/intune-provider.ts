import { readFile } from 'node:fs/promises';
import { createGraphClient, type GraphApi, type GraphStats, type ManagedDevice, type RunState } from '../clients/graph.js';
import { WritePacer } from '../http/pacer.js';
import { log } from '../log.js';
import type { Intent, IntuneTarget, SettingNames } from '../intent/types.js';
import { parseHealth, type HealthReport, type MdmDeviceObs } from '../rotation/verdict.js';
import { SecretValue } from '../secret-value.js';
import type { Settings } from '../settings.js';
import { readManagedSettings, writeManagedSettings } from './mobileconfig.js';
import { mergeReadValues, readBackProblem, type ConfigSnapshot, type DesiredValues, type MdmDevice, type MdmProvider, type SnapshotItem } from './provider.js';
import { mdmText, ReadValue } from './read-value.js';
import { readRenderedValues, renderTemplate } from './windows-template.js';

type Kind = 'intune-macos' | 'intune-windows';
type Read = Parameters<typeof mergeReadValues>[0][number];

export interface IntuneOptions {
  /** The Windows template text (required when the target has `windows`). */
  readonly template?: string;
  /** `current.keyId` of the intent: the key of a remediation script not rendered from the template. */
  readonly currentKeyId?: string;
  readonly info?: (message: string) => void;
  readonly warning?: (message: string) => void;
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

/**
 * Microsoft Intune through Graph: a macOS custom configuration (mobileconfig) and/or a
 * Windows remediation script carry the settings; `syncDevice` through paced `$batch`es
 * refreshes; `lastSyncDateTime` and the remediation's detection output validate.
 */
export class IntuneProvider implements MdmProvider {
  readonly name = 'intune' as const;
  readonly #api: GraphApi;
  readonly #target: IntuneTarget;
  readonly #names: SettingNames;
  readonly #o: IntuneOptions;
  readonly #macMeta = new Map<string, { payloadName: string; payloadFileName: string }>();
  readonly #said = new Set<string>();
  /** Managed devices in the tenant at the last listing. */
  #tenantDevices: number | undefined;

  constructor(api: GraphApi, target: IntuneTarget, names: SettingNames, options: IntuneOptions = {}) {
    if (target.windows && options.template === undefined) throw new Error('intune: the Windows template text is required');
    this.#api = api;
    this.#target = target;
    this.#names = names;
    this.#o = options;
  }

  stats(): GraphStats {
    return this.#api.stats();
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
    // Both raws are base64 exactly as Graph returned them, so a restore is byte-exact.
    if (windows && win) items.push({ kind: 'intune-windows', id: windows.remediationId, raw: win.remediationScriptContent });
    return this.snapshotFrom(items);
  }

  snapshotFrom(items: readonly SnapshotItem[]): ConfigSnapshot {
    const wanted: Kind[] = [...(this.#target.macos ? ['intune-macos' as const] : []), ...(this.#target.windows ? ['intune-windows' as const] : [])];
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
    return { item, keyId: v.keyId, apiKey: v.apiKey !== undefined ? new SecretValue(v.apiKey) : undefined, revokedKeyIds: v.revokedKeyIds };
  }

  #readWindows(item: SnapshotItem): Read | undefined {
    const v = readRenderedValues(this.#o.template!, unb64(item.raw, `remediation ${item.id} script`));
    if (v) return { item, keyId: v.keyId, apiKey: new SecretValue(v.apiKey), revokedKeyIds: v.revokedKeyIds };
    // A script written by hand (first rotation) cannot be read back; the intent names its key.
    // It goes the same way as a value read (checked against the tenant's keys before use).
    const current = this.#o.currentKeyId;
    this.#once('warning', `intune: remediation ${item.id} was not rendered from ${this.#target.windows?.template ?? 'the template'}; ${current ? `taking its key id from current.keyId (${current})` : 'its key id is unknown (set current.keyId)'}; the next write replaces it with the rendered template`);
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
    const wanted = { apiKey: values.apiKey.reveal(), keyId: mdmText(values.keyId), revokedKeyIds: values.revokedKeyIds.map(mdmText) };
    if (item.kind === 'intune-macos') {
      const next = writeManagedSettings(unb64(item.raw, `macOS configuration ${item.id} payload`), this.#names, wanted);
      await this.#patchMac(item.id, b64(next));
    } else {
      await this.#api.patchRemediationScript(item.id, b64(renderTemplate(this.#o.template!, wanted)));
    }
    // Read back: the write is done only when Graph serves it.
    const back = item.kind === 'intune-macos' ? this.#readMac(await this.#fetch(item)) : this.#readWindows(await this.#fetch(item));
    const problem = readBackProblem(values, back);
    if (problem) throw new Error(`intune: ${item.kind} ${item.id} did not read back as written (${problem})`);
  }

  async restoreConfig(snapshot: ConfigSnapshot): Promise<void> {
    for (const item of snapshot.items) await this.#restore(item);
  }

  /** PATCH the document back verbatim, then confirm Graph serves the same bytes. */
  async #restore(item: SnapshotItem): Promise<void> {
    if (item.kind === 'intune-macos') await this.#patchMac(item.id, item.raw);
    else if (item.kind === 'intune-windows') await this.#api.patchRemediationScript(item.id, item.raw);
    else throw new Error(`intune: cannot restore a ${item.kind} document`);
    const back = await this.#fetch(item);
    if (!Buffer.from(back.raw, 'base64').equals(Buffer.from(item.raw, 'base64'))) {
      throw new Error(`intune: ${item.kind} ${item.id} does not read back as the snapshot after the restore`);
    }
  }

  async #fetch(item: SnapshotItem): Promise<SnapshotItem> {
    if (item.kind === 'intune-windows') return { ...item, raw: (await this.#api.getRemediationScript(item.id)).remediationScriptContent };
    const c = await this.#api.getMacosConfiguration(item.id);
    this.#macMeta.set(item.id, { payloadName: c.payloadName, payloadFileName: c.payloadFileName });
    return { ...item, raw: c.payload };
  }

  async #patchMac(id: string, payload: string): Promise<void> {
    // payloadName / payloadFileName go with every PATCH (spec mdm.md); a sealed snapshot lacks them.
    const meta = this.#macMeta.get(id) ?? (await this.#api.getMacosConfiguration(id));
    await this.#api.patchMacosConfiguration(id, { payloadName: meta.payloadName, payloadFileName: meta.payloadFileName, payload });
  }

  async members(): Promise<MdmDevice[]> {
    const { groupId } = this.#target;
    const [entra, users, all] = await Promise.all([this.#api.groupDevices(groupId), this.#api.groupUsers(groupId), this.#api.managedDevices()]);
    this.#tenantDevices = all.length;
    // Join Entra deviceId ↔ managedDevice.azureADDeviceId in memory, ids compared case-insensitively.
    const byEntraId = new Map<string, ManagedDevice>();
    for (const m of all) {
      const k = m.azureADDeviceId?.toLowerCase();
      if (!k || k === ZERO_GUID) continue;
      const had = byEntraId.get(k);
      // A re-enrolled machine can leave a stale record behind: the one that synced last is the machine.
      if (!had || (Date.parse(m.lastSyncDateTime ?? '') || 0) > (Date.parse(had.lastSyncDateTime ?? '') || 0)) byEntraId.set(k, m);
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
    this.#once('info', `intune: group ${groupId}: ${entra.length} device member(s), ${users.length} user member(s) with ${viaUsers.length} managed device(s); ${devices.length} device(s) targeted${unmanaged ? `, ${unmanaged} Entra device(s) not managed by Intune` : ''}${skipped ? `, ${skipped} on a platform this intent does not configure (skipped)` : ''}`);
    return this.#observations(devices);
  }

  async refresh(devices: readonly MdmDevice[]): Promise<string[]> {
    const noId = devices.filter((d) => d.refreshId === '').map((d) => d.mdmId);
    const ids = devices.map((d) => d.refreshId).filter((id) => id !== '');
    const failed = ids.length ? await this.#api.syncDevices(ids) : [];
    if (failed.length) {
      const why = new Map<string, number>();
      for (const f of failed) {
        const k = f.status === 404 ? '404 device gone' : f.status === 0 ? 'no answer' : `${f.status}${f.code ? ` ${f.code}` : ''}`;
        why.set(k, (why.get(k) ?? 0) + 1);
      }
      (this.#o.warning ?? log.warning)(`intune: syncDevice not accepted for ${failed.length} device(s): ${[...why].map(([k, n]) => `${n}× ${k}`).join(', ')}`);
    }
    return [...noId, ...failed.map((f) => f.id)];
  }

  async observe(devices: readonly MdmDevice[], narrowed?: Promise<readonly MdmDevice[]>): Promise<MdmDeviceObs[]> {
    // Whichever takes fewer requests: the devices 20 per $batch, or a listing of the tenant
    // (also far lighter on Intune's read budget, which counts each item of a $batch). When even
    // all of `devices` call for the listing, it starts at once, beside the control plane's read.
    const listPages = this.#tenantDevices === undefined ? Infinity : Math.max(1, Math.ceil(this.#tenantDevices / (this.#o.listPageSize ?? 1000)));
    const byBatch = (n: number): boolean => Math.ceil(n / 20) <= listPages;
    const listing = !byBatch(devices.length) ? this.#api.managedDevices() : undefined;
    if (narrowed) devices = await narrowed;
    if (devices.length === 0) {
      await listing?.catch(() => undefined);
      return [];
    }
    const want = new Set(devices.map((d) => d.mdmId.toLowerCase()));
    const fresh = listing || !byBatch(want.size)
      ? (await (listing ?? this.#api.managedDevices())).filter((m) => want.has(m.id.toLowerCase()))
      : await this.#api.managedDevicesById([...want]);
    return this.#observations(fresh);
  }

  async close(): Promise<void> {
    const s = this.#api.stats();
    (this.#o.info ?? log.info)(`graph: ${s.requests} HTTP request(s) carrying ${s.batchedRequests} $batch item(s); ${s.writes} write(s); ${s.throttled} throttled (429)`);
    await this.#api.close();
  }

  #targets(m: ManagedDevice): boolean {
    const p = platformOf(m.operatingSystem);
    return (p === 'macos' && !!this.#target.macos) || (p === 'windows' && !!this.#target.windows);
  }

  /** Devices with their last sync and, on Windows, the remediation's health output. */
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
    return devices.map((m) => {
      const at = m.lastSyncDateTime ? Date.parse(m.lastSyncDateTime) : NaN;
      let health: HealthReport | undefined;
      let healthAt: number | undefined;
      if (needHealth && platformOf(m.operatingSystem) === 'windows') {
        const s = states.get(m.id.toLowerCase());
        // Post-remediation output is the later run when remediation ran; otherwise pre-remediation.
        health = parseHealth(s ? [s.postRemediationDetectionScriptOutput, s.preRemediationDetectionScriptOutput].filter((v): v is string => typeof v === 'string') : undefined);
        // The output is as old as the run that produced it (verdict.ts: only a run after the refresh counts).
        const ran = typeof s?.['lastStateUpdateDateTime'] === 'string' ? Date.parse(s['lastStateUpdateDateTime']) : NaN;
        if (!Number.isNaN(ran)) healthAt = ran;
      }
      return {
        mdmId: m.id,
        name: m.deviceName || `managed device ${m.id}`,
        refreshId: m.id,
        ...(!Number.isNaN(at) ? { lastContact: at } : {}),
        ...(health ? { health } : {}),
        ...(healthAt !== undefined ? { healthAt } : {}),
      };
    });
  }

  #once(level: 'info' | 'warning', message: string): void {
    if (this.#said.has(message)) return;
    this.#said.add(message);
    (level === 'info' ? (this.#o.info ?? log.info) : (this.#o.warning ?? log.warning))(message);
  }
}

/**
 * One pacer per Entra app, tenant and Intune resource category for the whole run: Intune's
 * budgets are per app per tenant and per category (reference §11.2). `graph-write-budget` is the
 * "devices" budget (syncDevice, remediation scripts; 200 / 20 s); "device configuration"
 * (macOS custom configuration) allows half of that (100 / 20 s), so it gets half.
 */
const pacers = new Map<string, WritePacer>();
function sharedPacer(key: string, budget: Settings['graphWriteBudget']): WritePacer {
  let p = pacers.get(key);
  if (!p) pacers.set(key, (p = new WritePacer(budget)));
  return p;
}

/** Microsoft Intune through Graph (issue #4). */
export async function createIntuneProvider(settings: Settings, intent: Intent): Promise<MdmProvider> {
  const target = intent.mdm.intune;
  const azure = settings.azure;
  if (!target) throw new Error('intune: the intent has no mdm.intune block');
  if (!azure) throw new Error('intune: azure-tenant-id, azure-client-id and azure-client-secret are required for mdm.provider intune');
  // The loader checked the placeholders at plan time; read the same file once for this run.
  const template = target.windows ? await readFile(target.windows.templatePath, 'utf8') : undefined;
  const app = `${target.graphUrl}|${azure.tenantId}|${azure.clientId}`;
  const budget = settings.graphWriteBudget;
  const pacer = sharedPacer(`${app}|devices`, budget);
  const configPacer = sharedPacer(`${app}|configuration`, { writes: Math.max(1, Math.floor(budget.writes / 2)), windowMs: budget.windowMs });
  const api = createGraphClient({ graphUrl: target.graphUrl, loginUrl: target.loginUrl, tenantId: azure.tenantId, clientId: azure.clientId, clientSecret: azure.clientSecret, pacer, configPacer });
  return new IntuneProvider(api, target, intent.mdm.settings, {
    ...(template !== undefined ? { template } : {}),
    ...(intent.current?.keyId ? { currentKeyId: intent.current.keyId } : {}),
  });
}
