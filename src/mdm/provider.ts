import type { MdmProviderName } from '../intent/types.js';
import type { SecretValue } from '../secret-value.js';
import type { MdmDeviceObs } from '../rotation/verdict.js';

/**
 * What the orchestrator needs from an MDM, whichever it is. Two adapters
 * implement it (Jamf Pro, Intune); nothing above this interface knows which.
 */
export interface MdmProvider {
  readonly name: MdmProviderName;
  /** Reads every configuration that carries the settings: the rollback snapshot. */
  readConfig(): Promise<ConfigSnapshot>;
  /** Re-reads a snapshot kept elsewhere (sealed evidence), masking the key it carries. */
  snapshotFrom(items: readonly SnapshotItem[]): ConfigSnapshot;
  /** Writes the three settings into the snapshot's documents, then reads back to confirm. */
  writeConfig(base: ConfigSnapshot, values: DesiredValues): Promise<void>;
  /** Puts the snapshot's documents back exactly as they were. */
  restoreConfig(snapshot: ConfigSnapshot): Promise<void>;
  /** The target group's devices, with their current check-in time and health. */
  members(): Promise<MdmDevice[]>;
  /** Asks the devices to check in now; returns the refresh ids the MDM refused. */
  refresh(devices: readonly MdmDevice[]): Promise<string[]>;
  /**
   * Fresh observations of these devices (a poll asks only about the unconfirmed ones). With
   * `narrowed`: a subset of `devices` that becomes known during the call (the control plane
   * confirms some); a provider whose reads depend on which devices it asks about waits for
   * it, one whose cheapest read covers every device anyway (a whole listing) need not.
   */
  observe(devices: readonly MdmDevice[], narrowed?: Promise<readonly MdmDevice[]>): Promise<MdmDeviceObs[]>;
  close(): Promise<void>;
}

export interface DesiredValues {
  readonly apiKey: SecretValue;
  readonly keyId: string;
  readonly revokedKeyIds: readonly string[];
}

export interface SnapshotItem {
  readonly kind: 'jamf-profile' | 'intune-macos' | 'intune-windows';
  readonly id: string;
  /** The document as the MDM returned it (plist text, base64 payload or script). */
  readonly raw: string;
}

export interface ConfigSnapshot {
  readonly items: readonly SnapshotItem[];
  readonly keyId: string | undefined;
  readonly apiKey: SecretValue | undefined;
  readonly revokedKeyIds: readonly string[];
}

export interface MdmDevice extends MdmDeviceObs {
  /** What `refresh` needs: Jamf managementId, Intune managed-device id. */
  readonly refreshId: string;
}

/** Values read from several documents must agree, or the fleet is already split. */
export function mergeReadValues(
  reads: readonly { item: SnapshotItem; keyId?: string | undefined; apiKey?: SecretValue | undefined; revokedKeyIds: readonly string[] }[],
): Pick<ConfigSnapshot, 'keyId' | 'apiKey' | 'revokedKeyIds'> {
  const ids = new Set(reads.map((r) => r.keyId ?? ''));
  if (ids.size > 1) {
    throw new Error(`MDM configurations disagree on the deployed key id (${reads.map((r) => `${r.item.kind} ${r.item.id}: ${r.keyId ?? 'none'}`).join(', ')}); make them carry the same key before rotating`);
  }
  const revoked = [...new Set(reads.flatMap((r) => r.revokedKeyIds))];
  const first = reads[0];
  return { keyId: first?.keyId, apiKey: first?.apiKey, revokedKeyIds: revoked };
}
