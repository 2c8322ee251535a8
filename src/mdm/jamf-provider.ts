import type { JamfApi, JamfComputer } from '../clients/jamf.js';
import type { JamfTarget, SettingNames } from '../intent/types.js';
import { parseHealth, type MdmDeviceObs } from '../rotation/verdict.js';
import { SecretValue } from '../secret-value.js';
import { readManagedSettings, writeManagedSettings } from './mobileconfig.js';
import type { ConfigSnapshot, DesiredValues, MdmDevice, MdmProvider, SnapshotItem } from './provider.js';

/** Jamf Pro: a macOS configuration profile carries the settings; blank push refreshes. */
export class JamfProvider implements MdmProvider {
  readonly name = 'jamf' as const;
  readonly #api: JamfApi;
  readonly #target: JamfTarget;
  readonly #names: SettingNames;

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
    const next = writeManagedSettings(item.raw, this.#names, { apiKey: values.apiKey.reveal(), keyId: values.keyId, revokedKeyIds: [...values.revokedKeyIds] });
    await this.#api.putProfilePayloads(this.#target.profileId, next);
    await this.#confirm(values.keyId, values.revokedKeyIds);
  }

  async restoreConfig(snapshot: ConfigSnapshot): Promise<void> {
    await this.#api.putProfilePayloads(this.#target.profileId, snapshot.items[0]!.raw);
    await this.#confirm(snapshot.keyId, snapshot.revokedKeyIds);
  }

  /** Read back through the same sticky session: the write is only done when Jamf serves it. */
  async #confirm(keyId: string | undefined, revoked: readonly string[]): Promise<void> {
    const back = readManagedSettings((await this.#api.getProfile(this.#target.profileId)).payloads, this.#names);
    const missing = revoked.filter((id) => !back.revokedKeyIds.includes(id));
    if (back.keyId !== keyId || missing.length > 0) {
      throw new Error(`jamf: profile ${this.#target.profileId} read back with key id ${back.keyId ?? 'none'} (expected ${keyId ?? 'none'}${missing.length ? `, revoked ids missing: ${missing.join(', ')}` : ''})`);
    }
  }

  async members(): Promise<MdmDevice[]> {
    const ids = await this.#api.groupMembers(this.#target.groupId);
    return (await this.#api.inventory(ids)).map((c) => this.#toDevice(c));
  }

  async refresh(devices: readonly MdmDevice[]): Promise<string[]> {
    const ids = devices.map((d) => d.refreshId).filter((id) => id !== '');
    const noId = devices.filter((d) => d.refreshId === '').map((d) => d.mdmId);
    return [...noId, ...(ids.length ? await this.#api.blankPush(ids) : [])];
  }

  async observe(devices: readonly MdmDevice[]): Promise<MdmDeviceObs[]> {
    if (devices.length === 0) return [];
    return (await this.#api.inventory(devices.map((d) => Number(d.mdmId)))).map((c) => this.#toDevice(c));
  }

  async close(): Promise<void> {
    await this.#api.close();
  }

  #toDevice(c: JamfComputer): MdmDevice {
    const g = c.general ?? {};
    const contact = g.lastContact ?? g.lastContactTime ?? g.lastCheckIn ?? undefined;
    const attr = this.#target.healthAttribute;
    const ea = attr ? c.extensionAttributes?.find((e) => e.name === attr) : undefined;
    const at = contact ? new Date(contact) : undefined;
    return {
      mdmId: c.id,
      name: g.name ?? `computer ${c.id}`,
      refreshId: g.managementId ?? '',
      ...(at && !Number.isNaN(at.getTime()) ? { lastContact: at } : {}),
      ...(attr ? { health: parseHealth(ea?.values ?? undefined) } : {}),
    };
  }
}
