import type { ApiKey, ThothEndpoint } from '../clients/thoth.js';
import type { Intent } from '../intent/types.js';
import type { ConfigSnapshot, MdmDevice } from '../mdm/provider.js';
import { releaseAll } from '../mdm/read-value.js';
import type { RunbookDeps } from '../runbook/deps.js';

/** What the read-only checks found; `problems` non-empty means nothing may be mutated. */
export interface Preflight {
  readonly problems: string[];
  readonly warnings: string[];
  readonly region: string;
  /** The deployed key's id: released (the tenant lists it) or the intent's current.keyId; '' when neither. */
  readonly oldKeyId: string;
  readonly oldPrefix?: string | undefined;
  readonly oldKey?: ApiKey | undefined;
  readonly snapshot: ConfigSnapshot;
  readonly members: MdmDevice[];
  readonly memberCount: number;
  /** Devices seen within validation.activeWithin. */
  readonly activeCount: number;
}

/**
 * Reads the control plane and the MDM (never writes) and checks that a rotation
 * could run: the fleet exists in the intent's region, the deployed key is known,
 * the configuration parses and the group has devices. Shared by plan and apply.
 */
export async function preflight(
  d: Pick<RunbookDeps, 'intent' | 'thoth' | 'mdm' | 'now'>,
  known?: ConfigSnapshot,
): Promise<Preflight> {
  const { intent } = d;
  const problems: string[] = [];
  const warnings: string[] = [];
  const mdmHealth = mdmHealthSource(intent);
  const [fleet, keys, snapshot, members, endpoints] = await Promise.all([
    d.thoth.getFleet(intent.fleet.id),
    d.thoth.listKeys(),
    known ? Promise.resolve(known) : d.mdm.readConfig(),
    d.mdm.members(),
    // Only needed when some devices have no MDM health: then the control plane is their only source.
    mdmHealth.lacking ? d.thoth.listEndpoints(intent.fleet.id) : Promise.resolve(undefined),
  ]);
  if (!fleet) problems.push(`fleet ${intent.fleet.id} does not exist in tenant ${intent.tenant}`);
  const region = fleet?.region ?? '';
  if (fleet && region.toLowerCase() !== intent.fleet.region.toLowerCase()) {
    problems.push(
      `fleet ${intent.fleet.id} is in region ${region || '(none)'}, the intent says ${intent.fleet.region}`,
    );
  }
  // What the configuration holds is released against the key list before anything about it is
  // said; an unrecognised value is masked inside `release` and only ever named by its setting.
  const read = snapshot.keyId;
  const releasedId = read?.release(keys);
  const revoked = releaseAll(snapshot.revokedKeyIds, keys);
  if (read && releasedId === undefined) problems.push(unrecognisedKeyId(read.source, intent));
  if (revoked.unrecognised.length > 0)
    problems.push(unrecognisedRevoked(revoked.unrecognised[0]!.source, revoked.unrecognised.length, intent));
  const declared = intent.current?.keyId;
  if (declared && releasedId && declared !== releasedId) {
    problems.push(
      `current.keyId is ${declared} but the MDM configuration delivers ${releasedId}; update the intent or the configuration`,
    );
  }
  const oldKeyId = read ? (releasedId ?? '') : (declared ?? '');
  if (!read && !declared)
    problems.push(`the MDM configuration names no key id (${intent.mdm.settings.keyId}) and current.keyId is not set`);
  if (!snapshot.apiKey) warnings.push(`the MDM configuration carries no ${intent.mdm.settings.apiKey} value today`);
  const oldKey = oldKeyId ? keys.find((k) => k.keyId === oldKeyId) : undefined;
  if (oldKeyId && !oldKey) warnings.push(`deployed key ${oldKeyId} is not in the tenant's key list (already revoked?)`);
  else if (oldKey && !oldKey.active)
    warnings.push(`deployed key ${oldKeyId} is inactive (expired or revoked): the fleet needs this rotation`);
  if (oldKey?.expiresAt) {
    const left = new Date(oldKey.expiresAt).getTime() - d.now().getTime();
    if (left < intent.validation.windowMs)
      warnings.push(`deployed key ${oldKeyId} expires at ${oldKey.expiresAt}, before the validation window would end`);
  }
  if (endpoints) {
    const w = keyEvidenceWarning(intent, mdmHealth, endpoints);
    if (w) warnings.push(w);
  }
  if (members.length === 0)
    problems.push(
      `MDM group ${intent.mdm.jamf?.groupId ?? intent.mdm.intune?.groupId} has no devices; refusing to rotate a key nobody would validate`,
    );
  const activeSince = d.now().getTime() - intent.validation.activeWithinMs;
  const activeCount = members.filter((m) => (m.lastContact ?? 0) >= activeSince).length;
  return {
    problems,
    warnings,
    region,
    oldKeyId,
    oldPrefix: oldKey?.prefix ?? undefined,
    oldKey,
    snapshot,
    members,
    memberCount: members.length,
    activeCount,
  };
}

/**
 * Spec §9: a value read where the key id should be that the tenant does not list. Named by its
 * setting, never quoted: the intent chose the setting, and it may hold the fleet's api key.
 */
function unrecognisedKeyId(source: string, intent: Intent): string {
  const fix =
    source === 'current.keyId'
      ? 'set current.keyId to the id of the key the remediation script delivers'
      : source.startsWith('{{')
        ? `put ${source} where the script holds the key id in mdm.intune.windows.template`
        : `set mdm.settings.keyId to the setting that holds the deployed key's id (default THOTH_API_KEY_ID); if that key was deleted from the control plane, clear ${source} in the configuration and set current.keyId`;
  return `the configuration's ${source} holds a value that is not a key id of this tenant (${intent.tenant}); it is not shown. Fix: ${fix}`;
}

function unrecognisedRevoked(source: string, count: number, intent: Intent): string {
  const fix = source.startsWith('{{')
    ? `put ${source} where the script holds the revoked key ids in mdm.intune.windows.template`
    : 'set mdm.settings.revokedKeyIds to the setting that lists revoked key ids (default THOTH_REVOKED_API_KEY_IDS), or remove from it the entries that are not key ids of this tenant';
  return `the configuration's ${source} holds ${count === 1 ? 'a value that is' : `${count} values that are`} not a key id of this tenant (${intent.tenant}); not shown. Fix: ${fix}`;
}

/**
 * Which devices an MDM health report can speak for (verdict.ts: a fresh report naming the new
 * key is one of the two key signals). Jamf: all of them when the intent names the extension
 * attribute (`healthAttribute`). Intune: Windows devices, through the remediation's detection
 * output; macOS devices have no health channel in this action.
 */
export function mdmHealthSource(intent: Intent): { lacking: string | undefined; fix: string } {
  if (intent.mdm.provider === 'jamf') {
    return intent.mdm.jamf?.healthAttribute
      ? { lacking: undefined, fix: '' }
      : {
          lacking: 'the intent reads no health (no mdm.jamf.healthAttribute)',
          fix: 'set mdm.jamf.healthAttribute to the extension attribute that holds `thoth health --json` and make inventory fresh after the refresh (README)',
        };
  }
  const t = intent.mdm.intune;
  if (t?.macos) {
    return {
      lacking: t.windows
        ? 'macOS devices report no health through Intune'
        : 'Intune reports no health for macOS devices',
      fix: 'have the proxy report managed_runtime_key_id to the control plane',
    };
  }
  return { lacking: undefined, fix: '' };
}

/**
 * `plan` (and `apply`, which runs the same preflight) warns when some or all devices have no
 * source of key evidence at all: no MDM health (above) and control-plane rows that carry no
 * `managed_runtime_key_id` (documented only "when applicable"; null for MDM-delivered keys).
 * Such a device never counts as healthy, so when no device has a source validation cannot
 * pass and the old key is never revoked.
 */
export function keyEvidenceWarning(
  intent: Intent,
  mdm: { lacking: string | undefined; fix: string },
  endpoints: readonly ThothEndpoint[],
): string | undefined {
  if (!mdm.lacking) return undefined;
  const reporting = endpoints.filter((e) => e.keyId !== undefined).length;
  if (endpoints.length > 0 && reporting === endpoints.length) return undefined;
  const fleet = intent.fleet.id;
  if (reporting === 0) {
    const rows =
      endpoints.length === 0
        ? `the control plane lists no endpoint of fleet ${fleet}`
        : `none of the ${endpoints.length} endpoint(s) the control plane lists for fleet ${fleet} reports managed_runtime_key_id`;
    const scope =
      intent.mdm.provider === 'intune' && intent.mdm.intune?.windows
        ? 'no macOS device can count as healthy'
        : 'no device can count as healthy, so validation cannot pass and the old key will not be revoked';
    return `no source of key evidence: ${mdm.lacking} and ${rows}; ${scope}. Fix: ${mdm.fix}`;
  }
  return `${endpoints.length - reporting} of ${endpoints.length} endpoint(s) of fleet ${fleet} report no managed_runtime_key_id and ${mdm.lacking}: those devices cannot count as healthy (validation.minHealthy counts every active device). Fix: ${mdm.fix}`;
}
