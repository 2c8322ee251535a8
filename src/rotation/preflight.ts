import type { ApiKeyRow } from '../clients/thoth.js';
import type { ConfigSnapshot, MdmDevice } from '../mdm/provider.js';
import type { RotationDeps } from './context.js';

/** What the read-only checks found; `problems` non-empty means nothing may be mutated. */
export interface Preflight {
  readonly problems: string[];
  readonly warnings: string[];
  readonly region: string;
  readonly oldKeyId: string;
  readonly oldPrefix?: string | undefined;
  readonly oldKey?: ApiKeyRow | undefined;
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
export async function preflight(d: Pick<RotationDeps, 'intent' | 'thoth' | 'mdm' | 'now'>, known?: ConfigSnapshot): Promise<Preflight> {
  const { intent } = d;
  const problems: string[] = [];
  const warnings: string[] = [];
  const [fleet, keys, snapshot, members] = await Promise.all([
    d.thoth.getFleet(intent.fleet.id),
    d.thoth.listKeys(),
    known ? Promise.resolve(known) : d.mdm.readConfig(),
    d.mdm.members(),
  ]);
  if (!fleet) problems.push(`fleet ${intent.fleet.id} does not exist in tenant ${intent.tenant}`);
  const region = fleet?.region ?? '';
  if (fleet && region.toLowerCase() !== intent.fleet.region.toLowerCase()) {
    problems.push(`fleet ${intent.fleet.id} is in region ${region || '(none)'}, the intent says ${intent.fleet.region}`);
  }
  const declared = intent.current?.keyId;
  if (declared && snapshot.keyId && declared !== snapshot.keyId) {
    problems.push(`current.keyId is ${declared} but the MDM configuration delivers ${snapshot.keyId}; update the intent or the configuration`);
  }
  const oldKeyId = snapshot.keyId ?? declared ?? '';
  if (!oldKeyId) problems.push(`the MDM configuration names no key id (${intent.mdm.settings.keyId}) and current.keyId is not set`);
  if (!snapshot.apiKey) warnings.push(`the MDM configuration carries no ${intent.mdm.settings.apiKey} value today`);
  const oldKey = keys.find((k) => k.key_id === oldKeyId);
  if (oldKeyId && !oldKey) warnings.push(`deployed key ${oldKeyId} is not in the tenant's key list (already revoked?)`);
  else if (oldKey && oldKey.active === false) warnings.push(`deployed key ${oldKeyId} is inactive (expired or revoked): the fleet needs this rotation`);
  if (oldKey?.expires_at) {
    const left = new Date(oldKey.expires_at).getTime() - d.now().getTime();
    if (left < intent.validation.windowMs) warnings.push(`deployed key ${oldKeyId} expires at ${oldKey.expires_at}, before the validation window would end`);
  }
  if (members.length === 0) problems.push(`MDM group ${intent.mdm.jamf?.groupId ?? intent.mdm.intune?.groupId} has no devices; refusing to rotate a key nobody would validate`);
  const activeSince = d.now().getTime() - intent.validation.activeWithinMs;
  const activeCount = members.filter((m) => (m.lastContact?.getTime() ?? 0) >= activeSince).length;
  return { problems, warnings, region, oldKeyId, oldPrefix: oldKey?.prefix ?? undefined, oldKey, snapshot, members, memberCount: members.length, activeCount };
}
