/**
 * What the action observes about a group while it validates (spec action.md §1 step 6): each
 * endpoint as the Thoth control plane lists it, each device as its MDM reports it, and the
 * endpoint's own `thoth health --json` as the MDM carries it. The adapters (mdm/*) produce
 * these; the decisions (rotation/verdict.ts, revocation/verify.ts) consume them.
 */
import { asRecord } from './json-value.js';

/**
 * Times of observations are epoch milliseconds, not Date objects: a Date costs ~96 bytes of
 * heap and a 50,000-device poll holds four per device (two generations of MDM reads, the
 * heartbeat, the health report), ~19 MB against the 200 MB the action is held to.
 */
export type EpochMs = number;

/** One endpoint of the fleet as the Thoth control plane sees it. */
export interface ThothEndpointObs {
  endpointId: string;
  hostname: string;
  /** `managed_runtime_key_id` */
  keyId?: string;
  /** `last_seen` (last heartbeat) */
  lastSeen?: EpochMs;
}

/** One member of the MDM group (the population being validated). */
export interface MdmDeviceObs {
  mdmId: string;
  name: string;
  /** Jamf `general.lastContact` (v1–v3 `lastContactTime`), Intune `lastSyncDateTime`: the device talked to its MDM (says nothing about the key). */
  lastContact?: EpochMs;
  health?: HealthReport;
  /**
   * When `health` was reported: Jamf `general.reportDate` (an extension attribute changes only
   * when the computer submits inventory), Intune the remediation run state's
   * `lastStateUpdateDateTime` (on Windows the run is also the device's contact). A report from
   * before the refresh describes the old state; health without it is never fresh.
   */
  healthAt?: EpochMs;
}

/** The endpoint's `thoth health --json`, as far as it could be read. */
export interface HealthReport {
  status: 'ok' | 'missing' | 'invalid';
  keyId?: string;
  revoked?: boolean;
  expired?: boolean;
  rotationRequired?: boolean;
  registrationOk?: boolean;
}

/** Health output larger than this is not parsed (it is not health output). */
export const MAX_HEALTH_CHARS = 64 * 1024;
const KEY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  return undefined;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads `thoth health --json` from an extension attribute's `values` (Jamf) or a detection
 * script's output (Intune; pass `[output]`). Never throws: an endpoint without the proxy
 * yields `missing` (nothing reported) or `invalid` (something that is not the JSON object).
 * Only `api_key.key_id` and `registration_ok` are attested upstream, so every field is
 * optional; a JSON object wrapped in other text (an EA's `<result>…</result>`, a PowerShell
 * banner) is found by its outermost braces.
 */
export function parseHealth(values: readonly string[] | undefined | null): HealthReport {
  try {
    if (!Array.isArray(values)) return { status: 'missing' };
    const text = values.find((v) => typeof v === 'string' && v.trim() !== '');
    if (text === undefined) return { status: 'missing' };
    if (text.length > MAX_HEALTH_CHARS) return { status: 'invalid' };
    let doc = asRecord(tryJson(text.trim()));
    if (!doc) {
      const start = text.indexOf('{');
      const end = text.lastIndexOf('}');
      if (start >= 0 && end > start) doc = asRecord(tryJson(text.slice(start, end + 1)));
    }
    if (!doc) return { status: 'invalid' };
    const apiKey = asRecord(doc.api_key) ?? asRecord(doc.apiKey) ?? {};
    const report: HealthReport = { status: 'ok' };
    const keyId = apiKey.key_id ?? apiKey.keyId ?? doc.api_key_id ?? doc.key_id;
    if (typeof keyId === 'string' && KEY_ID.test(keyId)) report.keyId = keyId;
    const revoked = bool(apiKey.revoked);
    if (revoked !== undefined) report.revoked = revoked;
    const expired = bool(apiKey.expired);
    if (expired !== undefined) report.expired = expired;
    const rotationRequired = bool(apiKey.rotation_required ?? apiKey.rotationRequired);
    if (rotationRequired !== undefined) report.rotationRequired = rotationRequired;
    const registrationOk = bool(doc.registration_ok ?? doc.registrationOk);
    if (registrationOk !== undefined) report.registrationOk = registrationOk;
    return report;
  } catch {
    return { status: 'invalid' };
  }
}
