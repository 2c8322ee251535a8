/**
 * Runbook steps 1–3 (spec §1): create a key in the control plane, store its plaintext (masked,
 * in memory only), and authorize it for every permission before it can reach a device. Shared
 * by the planned rotation and the emergency replacement of a revoked key.
 */
import type { AuthorizeResult, CreatedKey, ThothApi } from '../clients/thoth.js';
import type { KeyRef, RunInfo } from '../evidence/record.js';
import { fingerprint } from '../evidence/record.js';
import type { Intent, Permission } from '../intent/types.js';
import { keyOwner, type MintKind, mintedKeyName } from './key-name.js';

export interface MintDeps {
  readonly intent: Intent;
  readonly thoth: Pick<ThothApi, 'createKey' | 'authorize'>;
  readonly run: RunInfo;
}

/** The resource the new key must be authorized on. */
export function keyResource(intent: Intent): { resourceType: 'fleet' | 'endpoint'; resourceId: string } {
  return intent.key.scope === 'endpoint' && intent.key.endpointId
    ? { resourceType: 'endpoint', resourceId: intent.key.endpointId }
    : { resourceType: 'fleet', resourceId: intent.fleet.id };
}

function jitReason(intent: Intent, kind: MintKind): string {
  if (kind === 'emergency') return `emergency replacement (thoth-rotate ${intent.name})`;
  return intent.ticket ? `${intent.ticket} (thoth-rotate ${intent.name})` : `thoth-rotate ${intent.name}`;
}

/**
 * Step 1, create: one call, never retried (a second call would mint a second key). The name
 * says who minted the key (key-name.ts), so a key whose plaintext died with its run is found
 * again and revoked (lost-keys.ts).
 *
 * Step 2, store: the client registers the plaintext with the runner's masker before it returns
 * it, inside a SecretValue that only `reveal()` opens; it is never written anywhere but the MDM.
 */
export function createKey(d: MintDeps, kind: MintKind): Promise<CreatedKey> {
  const { intent } = d;
  return d.thoth.createKey({
    scopeLevel: intent.key.scope,
    scopeTargetId: keyResource(intent).resourceId,
    permissions: intent.key.permissions,
    name: mintedKeyName(keyOwner(intent), kind, d.run),
    ...(intent.key.ttlMs !== undefined ? { ttlSeconds: Math.round(intent.key.ttlMs / 1000) } : {}),
    jitReason: jitReason(intent, kind),
  });
}

/** What the evidence record keeps of a stored key: its id, one-way fingerprint and minter. Never the key. */
export function storedKey(created: CreatedKey, run: RunInfo): KeyRef {
  return {
    keyId: created.keyId,
    ...(created.prefix ? { prefix: created.prefix } : {}),
    ...(created.expiresAt ? { expiresAt: created.expiresAt } : {}),
    fingerprint: fingerprint(created.apiKey.reveal()),
    mintedBy: { id: run.id, attempt: run.attempt },
  };
}

export interface Authorization {
  readonly permission: Permission;
  readonly result: AuthorizeResult;
}

/**
 * Step 3, authorize: the control plane's own authorize call, once per permission, on the
 * intent's target. An error (outage, timeout) is thrown: it proves nothing either way.
 */
export async function authorizeKey(d: MintDeps, created: CreatedKey): Promise<Authorization[]> {
  const resource = keyResource(d.intent);
  const out: Authorization[] = [];
  for (const permission of d.intent.key.permissions) {
    const result = await d.thoth.authorize({ keyId: created.keyId, apiKey: created.apiKey, permission, ...resource });
    out.push({ permission, result });
  }
  return out;
}

/** The permissions the control plane refused. */
export function deniedPermissions(auths: readonly Authorization[]): string[] {
  return auths.filter((a) => !a.result.authorized).map((a) => a.permission);
}

/** One line per permission: what the control plane answered, for the evidence. */
export function authorizationDetail(intent: Intent, a: Authorization): string {
  const { resourceType, resourceId } = keyResource(intent);
  const r = a.result;
  return `${a.permission} on ${resourceType} ${resourceId}: valid=${r.valid} permission_allowed=${r.permission_allowed} scope_allowed=${r.scope_allowed} expired=${Boolean(r.expired)}`;
}
