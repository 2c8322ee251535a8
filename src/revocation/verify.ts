import type { ApiKey } from '../clients/thoth.js';
import type { MdmDeviceObs, ThothEndpointObs } from '../observations.js';

export interface RevocationCheckInput {
  readonly revoked: ReadonlySet<string>;
  readonly keys: readonly ApiKey[];
  readonly endpoints: readonly ThothEndpointObs[];
  readonly devices: readonly MdmDeviceObs[];
  readonly refreshSentAt: Date;
  readonly activeWithinMs: number;
}

export interface RevocationCheck {
  /** Revoked ids the control plane still lists as active. */
  readonly stillActive: string[];
  /** Checked in since the refresh and still reporting a revoked key. */
  readonly offenders: { id: string; name: string; keyId: string }[];
  /** Active, on a revoked key, not checked in since the refresh: listed, not failed. */
  readonly notCheckedIn: { id: string; name: string }[];
  readonly active: number;
  readonly checkedIn: number;
}

const after = (t: number | undefined, ref: Date) => t !== undefined && t > ref.getTime();

/**
 * Revocation holds when the control plane no longer accepts the keys and no
 * endpoint still reports one of them as its key since the refresh (Thoth's
 * managed_runtime_key_id with last_seen after it, or an MDM health report made after it). Pure.
 */
export function checkRevocation(i: RevocationCheckInput): RevocationCheck {
  const stillActive = [...i.revoked].filter((id) => i.keys.some((k) => k.keyId === id && k.active));
  const activeSince = i.refreshSentAt.getTime() - i.activeWithinMs;
  const offenders: RevocationCheck['offenders'] = [];
  const notCheckedIn: RevocationCheck['notCheckedIn'] = [];
  let active = 0;
  let checkedIn = 0;
  for (const e of i.endpoints) {
    if ((e.lastSeen ?? 0) < activeSince) continue;
    active++;
    const fresh = after(e.lastSeen, i.refreshSentAt);
    if (fresh) checkedIn++;
    if (!e.keyId || !i.revoked.has(e.keyId)) continue;
    if (fresh) offenders.push({ id: e.endpointId, name: e.hostname, keyId: e.keyId });
    else notCheckedIn.push({ id: e.endpointId, name: e.hostname });
  }
  for (const d of i.devices) {
    const k = d.health?.keyId;
    // Only a health report made after the refresh says which key the device runs now (verdict.ts).
    if (k && i.revoked.has(k) && after(d.healthAt, i.refreshSentAt) && !d.health?.revoked) {
      offenders.push({ id: d.mdmId, name: d.name, keyId: k });
    }
  }
  return { stillActive, offenders, notCheckedIn, active, checkedIn };
}
