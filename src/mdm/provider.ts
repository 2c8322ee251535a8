import type { MdmProviderName } from '../intent/types.js';
import type { SecretValue } from '../secret-value.js';
import type { MdmDeviceObs } from '../observations.js';
import { describeKeyIds, sameKeyId, uniqueKeyIds, type KeyIdValue, type ReadValue } from './read-value.js';

/**
 * What the orchestrator needs from an MDM, whichever it is. Two adapters
 * implement it (Jamf Pro, Intune); nothing above this interface knows which.
 */
/** Monotonic counters of a provider's writes; the heartbeat reports their growth during a refresh. */
export interface RefreshProgress {
  readonly writes: number;
  readonly throttled: number;
}

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
   * Counters for the heartbeat of a long refresh (Intune: one paced write per device), read
   * while `refresh` runs. A provider whose refresh is a handful of requests has none.
   */
  progress?(): RefreshProgress;
  /**
   * Fresh observations of these devices (a poll asks only about the unconfirmed ones). With
   * `narrowed`: what becomes known during the call (the control plane confirms some); a
   * provider whose reads depend on which devices it asks about waits for it, one whose
   * cheapest read covers every device anyway (a whole listing) need not.
   */
  observe(devices: readonly MdmDevice[], narrowed?: Promise<Narrowed>): Promise<MdmDeviceObs[]>;
  close(): Promise<void>;
}

/** What a poll's control-plane listing tells the MDM read that runs beside it. */
export interface Narrowed {
  /** The subset of the devices asked about that the listing did not confirm. */
  readonly devices: readonly MdmDevice[];
  /**
   * `mdmId`s of those already known to have checked in since the refresh (verdict.ts
   * `checkedInSince`): only a health report made since then can change their verdict.
   */
  readonly checkedIn: ReadonlySet<string>;
}

/** The three settings the action manages in an MDM configuration (spec mdm.md), however each is held. */
export interface ManagedSettings<Key, Id> {
  readonly apiKey: Key;
  /** A new key's id, or (revocation without replacement) the value read before. */
  readonly keyId: Id;
  /** The entries read before (kept as they were) and the ids being added. */
  readonly revokedKeyIds: readonly Id[];
}

/** What a write is to deliver: the key masked, the ids as read (opaque) or minted. */
export type DesiredValues = ManagedSettings<SecretValue, KeyIdValue>;

/** The same values as the text that goes into a document (mobileconfig.ts, windows-template.ts). */
export type ManagedValues = ManagedSettings<string, string>;

export interface SnapshotItem {
  readonly kind: 'jamf-profile' | 'intune-macos' | 'intune-windows';
  readonly id: string;
  /** The document as the MDM returned it (plist text, base64 payload or script). */
  readonly raw: string;
  /**
   * `intune-windows`: the remediation's detection script, base64 as Graph returned it, restored
   * with the remediation script. Absent when Graph had none, and in snapshots sealed before the
   * action managed detection scripts (a restore then leaves the detection script as it is).
   */
  readonly detectionRaw?: string;
}

/**
 * The configuration as read. The key id and the revoked ids are opaque ({@link ReadValue}):
 * the intent chose which settings they came from, so they are compared (`is`) but shown only
 * after `release` against the tenant's key list (preflight).
 */
export interface ConfigSnapshot {
  readonly items: readonly SnapshotItem[];
  readonly keyId: ReadValue | undefined;
  readonly apiKey: SecretValue | undefined;
  readonly revokedKeyIds: readonly ReadValue[];
}

export interface MdmDevice extends MdmDeviceObs {
  /** What `refresh` needs: Jamf managementId, Intune managed-device id. */
  readonly refreshId: string;
}

/** What one configuration document carries, as read (values opaque, the api key masked). */
export interface DocumentRead {
  readonly item: SnapshotItem;
  readonly keyId?: ReadValue | undefined;
  readonly apiKey?: SecretValue | undefined;
  readonly revokedKeyIds: readonly ReadValue[];
}

/**
 * The documents carry different key ids. Either the fleet is already split, or a deployment
 * stopped between two documents; `reads` lets the run that takes over tell which
 * (rotation/finish-deploy.ts). The message names the documents, never their values.
 */
export class ConfigSplitError extends Error {
  constructor(readonly reads: readonly DocumentRead[]) {
    super(
      `MDM configurations disagree on the deployed key id (${reads.map((r) => `${r.item.kind} ${r.item.id}`).join(', ')} do not carry the same value); make them carry the same key before rotating`,
    );
    this.name = 'ConfigSplitError';
  }
}

/** Values read from several documents must agree, or the fleet is already split. */
export function mergeReadValues(
  reads: readonly DocumentRead[],
): Pick<ConfigSnapshot, 'keyId' | 'apiKey' | 'revokedKeyIds'> {
  const first = reads[0];
  const split = reads.filter((r) => (r.keyId === undefined ? first?.keyId !== undefined : !r.keyId.is(first?.keyId)));
  // The values are not quoted: they are not yet known to be key ids (read-value.ts).
  if (split.length > 0) throw new ConfigSplitError(reads);
  return {
    keyId: first?.keyId,
    apiKey: first?.apiKey,
    revokedKeyIds: uniqueKeyIds(reads.flatMap((r) => r.revokedKeyIds)),
  };
}

/**
 * What a read-back after a write lacks, or undefined when it carries what was written. What
 * was read back is never quoted (it is not known to be a key id): only the wanted values,
 * described by {@link describeKeyIds}.
 */
export function readBackProblem(
  want: { keyId: KeyIdValue | undefined; revokedKeyIds: readonly KeyIdValue[] },
  back: { keyId?: ReadValue | undefined; revokedKeyIds: readonly ReadValue[] } | undefined,
): string | undefined {
  const keyOk = sameKeyId(back?.keyId, want.keyId);
  const missing = want.revokedKeyIds.filter((id) => !back?.revokedKeyIds.some((b) => b.is(id)));
  if (keyOk && missing.length === 0) return undefined;
  return [
    ...(keyOk ? [] : [`key id ${want.keyId === undefined ? 'none' : describeKeyIds([want.keyId])} not delivered`]),
    ...(missing.length ? [`revoked ids missing: ${describeKeyIds(missing)}`] : []),
  ].join('; ');
}
