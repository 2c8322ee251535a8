import { errorMessage } from '../errors.js';
import { Journal } from '../evidence/journal.js';
import { fingerprint, type EvidenceRecord, type KeyRef } from '../evidence/record.js';
import type { ConfigSnapshot, DesiredValues } from '../mdm/provider.js';
import { keyNamePrefix, keyResource, leaseUntil, type RotationDeps, type RotationOutcome } from '../rotation/context.js';
import { outcome } from '../rotation/outcome.js';
import type { SecretValue } from '../secret-value.js';
import { mergeRevoked } from './targets.js';
import { checkRevocation, type RevocationCheck } from './verify.js';

export interface RevokeRequest {
  readonly keyIds: readonly string[];
  readonly reason: string;
  readonly replace: boolean;
}

/**
 * Emergency revocation for one intent's fleet (spec §1): keys the fleet does not
 * use die at once; a deployed key is first replaced (create, authorize, deploy,
 * refresh — no validation window) so the fleet keeps a valid key; every id joins
 * the revoked list the configuration delivers; then check-in is forced and the
 * revocation validated. The intent's record ends in state `revoked`.
 */
export async function revokeForIntent(d: RotationDeps, req: RevokeRequest): Promise<RotationOutcome> {
  const { intent, journal } = d;
  const snapshot = await d.mdm.readConfig();
  const deployed = snapshot.keyId && req.keyIds.includes(snapshot.keyId) ? snapshot.keyId : undefined;
  const warnings: string[] = [];
  const base = journal.record ?? Journal.genesis(intent);
  await journal.commit({
    base,
    set: { reason: req.reason },
    lease: { run: d.run, until: leaseUntil(intent, d.now()) },
    events: [{ step: 'revoke-request', outcome: 'info', detail: `emergency revocation of ${req.keyIds.join(', ')} by ${d.run.actor}: ${req.reason}${deployed ? ` (${deployed} is the deployed key; replace=${req.replace})` : ''}` }],
  });

  // 1. Keys the fleet does not deliver stop working now.
  const revokedKeys: KeyRef[] = [];
  for (const id of req.keyIds.filter((k) => k !== deployed)) revokedKeys.push(await revokeOne(d, id));

  // 2. Replace the deployed key before it dies, so the group always holds a valid key.
  let replacement: { keyId: string; apiKey: SecretValue } | undefined;
  if (deployed && req.replace) {
    replacement = await mintReplacement(d);
    if (!replacement) warnings.push(`replacement key could not be authorized; ${deployed} is revoked anyway and the fleet loses access until a new key is deployed`);
  } else if (deployed) {
    warnings.push(`replace is false: ${deployed} is the deployed key, so the fleet loses access to the control plane until a new key is deployed`);
  }

  // 3. The configuration carries the revoked list (and the replacement, if any).
  const revokedList = mergeRevoked(snapshot.revokedKeyIds, req.keyIds);
  const values = desired(snapshot, replacement, revokedList);
  await d.mdm.writeConfig(snapshot, values);
  await journal.commit({ events: [{ step: 'mdm-update', outcome: 'ok', detail: `configuration delivers ${values.keyId}${replacement ? ' (replacement)' : ''} and revoked ids ${revokedList.join(', ')}` }] });

  // 4. Force check-in.
  const devices = await d.mdm.members();
  const refreshSentAt = d.now();
  const refused = await d.mdm.refresh(devices);
  await journal.commit({ set: { refreshSentAt: refreshSentAt.toISOString() }, events: [{ step: 'refresh', outcome: refused.length ? 'info' : 'ok', detail: `check-in forced on ${devices.length - refused.length} of ${devices.length} device(s)` }] });

  // 5. Now the deployed key can die.
  if (deployed) revokedKeys.push(await revokeOne(d, deployed));

  // 6. Validate: keys inactive, no endpoint that checked in still on a revoked key.
  const check = await pollRevocation(d, new Set(req.keyIds), devices, refreshSentAt, deployed && !replacement ? deployed : undefined);
  const lostAccess = check.offenders.filter((o) => o.keyId === deployed && !replacement);
  const offenders = check.offenders.filter((o) => !lostAccess.includes(o));
  const ok = check.stillActive.length === 0 && offenders.length === 0;
  if (offenders.length) warnings.push(`${offenders.length} endpoint(s) checked in and still report a revoked key: ${offenders.slice(0, 20).map((e) => `${e.name} (${e.keyId})`).join(', ')}${offenders.length > 20 ? ' …' : ''}`);
  if (check.notCheckedIn.length) warnings.push(`${check.notCheckedIn.length} active endpoint(s) on a revoked key have not checked in since: ${check.notCheckedIn.slice(0, 20).map((e) => e.name).join(', ')}${check.notCheckedIn.length > 20 ? ' …' : ''}`);
  const line = `${check.checkedIn}/${check.active} active endpoint(s) checked in since the refresh; ${offenders.length} still on a revoked key; ${check.notCheckedIn.length} on a revoked key not checked in${lostAccess.length ? `; ${lostAccess.length} without a valid key` : ''}; control plane still accepts: ${check.stillActive.join(', ') || 'none'}`;
  const set: Partial<EvidenceRecord> = { revokedKeys: mergeRefs(base.revokedKeys ?? [], revokedKeys) };
  if (replacement) {
    set.oldKey = { keyId: deployed! };
    set.newKey = { keyId: replacement.keyId, fingerprint: fingerprint(replacement.apiKey.reveal()) };
  }
  await journal.commit({
    state: 'revoked',
    set,
    lease: null,
    events: [
      { step: 'validate-revocation', outcome: ok ? 'ok' : 'failed', detail: line },
      ...(offenders.length ? [{ step: 'offenders', outcome: 'failed' as const, detail: offenders.slice(0, 50).map((e) => `${e.name} (${e.id}) on ${e.keyId}`).join(', ') }] : []),
      ...(check.notCheckedIn.length ? [{ step: 'stragglers', outcome: 'info' as const, detail: `not checked in since the refresh: ${check.notCheckedIn.slice(0, 50).map((e) => `${e.name} (${e.id})`).join(', ')}` }] : []),
    ],
  });
  const result = outcome(d, journal.record, ok ? 'revoked' : 'failed', ok ? `revoked ${req.keyIds.join(', ')}; ${line}` : `revocation not confirmed: ${line}`, warnings);
  return { ...result, revokedKeyIds: revokedKeys.map((k) => k.keyId), ...(replacement ? { apiKey: replacement.apiKey, newKeyId: replacement.keyId } : {}) };
}

async function revokeOne(d: RotationDeps, keyId: string): Promise<KeyRef> {
  const r = await d.thoth.revokeKey(keyId);
  await d.journal.commit({ events: [{ step: 'revoke-key', outcome: 'ok', detail: r === 'revoked' ? `revoked ${keyId} in the control plane` : `${keyId} was already revoked (404)` }] });
  return { keyId };
}

/** Create, mask, authorize; a key that is not authorized is revoked and undefined returned. */
async function mintReplacement(d: RotationDeps): Promise<{ keyId: string; apiKey: SecretValue } | undefined> {
  const { intent, thoth } = d;
  const created = await thoth.createKey({
    scopeLevel: intent.key.scope,
    scopeTargetId: keyResource(intent).resourceId,
    permissions: intent.key.permissions,
    name: `${keyNamePrefix(intent)}emergency run ${d.run.id}.${d.run.attempt}`,
    ...(intent.key.ttlMs !== undefined ? { ttlSeconds: Math.round(intent.key.ttlMs / 1000) } : {}),
    jitReason: `emergency replacement (thoth-rotate ${intent.name})`,
  });
  await d.journal.commit({ events: [{ step: 'create-key', outcome: 'ok', detail: `created replacement ${intent.key.scope} key ${created.keyId} with ${intent.key.permissions.join(', ')}` }] });
  const denied: string[] = [];
  for (const permission of intent.key.permissions) {
    const r = await thoth.authorize({ keyId: created.keyId, apiKey: created.apiKey, permission, ...keyResource(intent) }).catch((e: unknown) => {
      d.log.warning(`authorize ${permission}: ${errorMessage(e)}`);
      return { authorized: false };
    });
    if (!r.authorized) denied.push(permission);
  }
  if (denied.length > 0) {
    await thoth.revokeKey(created.keyId);
    await d.journal.commit({ events: [{ step: 'authorize', outcome: 'failed', detail: `replacement ${created.keyId} not authorized for ${denied.join(', ')}; revoked` }] });
    return undefined;
  }
  await d.journal.commit({ events: [{ step: 'authorize', outcome: 'ok', detail: `replacement ${created.keyId} authorized for ${intent.key.permissions.join(', ')}` }] });
  return { keyId: created.keyId, apiKey: created.apiKey };
}

function desired(snapshot: ConfigSnapshot, replacement: { keyId: string; apiKey: SecretValue } | undefined, revoked: string[]): DesiredValues {
  if (replacement) return { apiKey: replacement.apiKey, keyId: replacement.keyId, revokedKeyIds: revoked };
  if (!snapshot.apiKey || !snapshot.keyId) throw new Error('the MDM configuration carries no key to keep; cannot deliver the revoked list without a replacement (set replace: true)');
  return { apiKey: snapshot.apiKey, keyId: snapshot.keyId, revokedKeyIds: revoked };
}

function mergeRefs(a: readonly KeyRef[], b: readonly KeyRef[]): KeyRef[] {
  const seen = new Map<string, KeyRef>();
  for (const k of [...a, ...b]) seen.set(k.keyId, k);
  return [...seen.values()];
}

/** Poll until the revocation is confirmed everywhere it can be, or validation.timeout. */
async function pollRevocation(d: RotationDeps, revoked: Set<string>, devices: Parameters<RotationDeps['mdm']['observe']>[0], refreshSentAt: Date, expectedLoss: string | undefined): Promise<RevocationCheck> {
  const { timeoutMs, pollIntervalMs, activeWithinMs, minHealthy } = d.intent.validation;
  const deadline = refreshSentAt.getTime() + timeoutMs;
  for (;;) {
    const [keys, endpoints, obs] = await Promise.all([d.thoth.listKeys(), d.thoth.listEndpoints(d.intent.fleet.id), d.mdm.observe(devices)]);
    const check = checkRevocation({
      revoked,
      keys,
      endpoints: endpoints.map((e) => ({ endpointId: e.endpoint_id, hostname: e.hostname ?? e.endpoint_id, ...(e.managed_runtime_key_id ? { keyId: e.managed_runtime_key_id } : {}), ...(e.last_seen ? { lastSeen: new Date(e.last_seen) } : {}) })),
      devices: obs,
      refreshSentAt,
      activeWithinMs,
    });
    const offenders = check.offenders.filter((o) => o.keyId !== expectedLoss);
    const enough = check.active === 0 || check.checkedIn / check.active >= minHealthy;
    d.log.info(`revocation poll: ${check.checkedIn}/${check.active} checked in, ${offenders.length} on a revoked key, ${check.stillActive.length} key(s) still active`);
    if (check.stillActive.length === 0 && offenders.length === 0 && enough) return check;
    if (d.now().getTime() + pollIntervalMs > deadline) return check;
    await d.sleep(pollIntervalMs);
  }
}
