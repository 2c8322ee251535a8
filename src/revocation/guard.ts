import type { ApiKey } from '../clients/thoth.js';
import type { EventInput } from '../evidence/journal.js';
import { sameKeyId, type KeyIdValue } from '../mdm/read-value.js';
import type { RunbookDeps } from '../runbook/deps.js';
import { endpointFleetMap, fleetOfKey } from './targets.js';

/**
 * Live state decides before anything is revoked (spec §9 "Evidence is a claim"). The evidence
 * record says which keys a rotation holds, but whoever can push to the evidence branch can
 * write any key id there: every DELETE the action makes first checks, from the control plane's
 * key list and the MDM configuration as read now, that the key belongs to this intent's fleet
 * and is not the key the fleet is using.
 */

/** What the decision reads: the tenant's key list and the key id the configuration delivers. */
export interface LiveKeyState {
  readonly keys: readonly ApiKey[];
  /** The key id the MDM configuration delivers now (as read: opaque until released); undefined when it names none. */
  readonly deliveredKeyId: KeyIdValue | undefined;
  /** endpoint_id → fleet_id from the fleet's endpoint listing; read only when an endpoint key needs it. */
  readonly endpointFleet?: ReadonlyMap<string, string> | undefined;
}

export interface GuardScope {
  readonly fleetId: string;
  /** The intent's own endpoint (endpoint-scoped intents): its keys are the intent's without a listing. */
  readonly endpointId?: string | undefined;
  /**
   * The one key that may go although the configuration delivers it: an emergency revocation's
   * deployed key when no replacement could be deployed (`replace: false`, or a replacement the
   * control plane refused). Never set by a rotation.
   */
  readonly deliveredAllowed?: string | undefined;
}

export type GuardDecision =
  | { readonly kind: 'revoke' }
  /** Nothing to DELETE: the key is gone or inactive already. */
  | { readonly kind: 'gone'; readonly why: string }
  | { readonly kind: 'refuse'; readonly why: string };

/** Pure: whether `keyId` may be revoked for an intent of `scope`, given what was read live. */
export function decideRevocation(keyId: string, scope: GuardScope, live: LiveKeyState): GuardDecision {
  const row = live.keys.find((k) => k.keyId === keyId);
  if (!row) return { kind: 'gone', why: 'not in the control plane key list (already revoked)' };
  if (!row.active) return { kind: 'gone', why: 'listed as inactive (already revoked or expired)' };
  const problems: string[] = [];
  const scopeProblem = scopeMismatch(row, scope, live.endpointFleet);
  if (scopeProblem) problems.push(scopeProblem);
  if (sameKeyId(keyId, live.deliveredKeyId) && keyId !== scope.deliveredAllowed) {
    problems.push('the MDM configuration delivers it now, so revoking it would cut the fleet off the control plane');
  }
  return problems.length ? { kind: 'refuse', why: problems.join('; and ') } : { kind: 'revoke' };
}

/** Why the key's live scope is not this intent's fleet or one of its endpoints; undefined when it is. */
function scopeMismatch(
  row: ApiKey,
  scope: GuardScope,
  endpointFleet: ReadonlyMap<string, string> | undefined,
): string | undefined {
  const level = row.scopeLevel ?? '';
  const target = row.scopeTargetId ?? '';
  if (level === 'endpoint' && target !== '' && target === scope.endpointId) return undefined;
  const fleet = fleetOfKey(row, endpointFleet ?? new Map());
  if (fleet === scope.fleetId) return undefined;
  const mine = `this intent's fleet ${scope.fleetId}`;
  if (level === 'fleet') return `the control plane lists it as scoped to fleet ${target || '(none)'}, not to ${mine}`;
  if (level === 'endpoint') {
    return `the control plane lists it as scoped to endpoint ${target || '(none)'}, ${fleet ? `which belongs to fleet ${fleet}` : `which the endpoint listing does not place in ${scope.fleetId}`}, not to ${mine}`;
  }
  return `the control plane lists it as ${level ? `${level}-scoped` : 'having no scope'}${target ? ` (${target})` : ''}, not as a key of ${mine} or one of its endpoints`;
}

/** Reads this step already made (same run, no write of ours in between): reused, not repeated. */
export interface KnownLiveState {
  readonly keys?: readonly ApiKey[];
  readonly delivered?: { readonly keyId: KeyIdValue | undefined };
}

type GuardDeps = Pick<RunbookDeps, 'intent' | 'thoth' | 'mdm'>;

/**
 * One key list and one configuration read (each skipped when `known`), in parallel; the fleet's
 * endpoint listing only when a key to decide is scoped to an endpoint other than the intent's own.
 */
export async function readLiveKeyState(
  d: GuardDeps,
  keyIds: readonly string[],
  known: KnownLiveState = {},
): Promise<LiveKeyState> {
  const [keys, deliveredKeyId] = await Promise.all([
    known.keys ?? d.thoth.listKeys(),
    known.delivered ? known.delivered.keyId : d.mdm.readConfig().then((c) => c.keyId),
  ]);
  const needsListing = keys.some(
    (k) =>
      keyIds.includes(k.keyId) &&
      k.active &&
      k.scopeLevel === 'endpoint' &&
      k.scopeTargetId !== d.intent.key.endpointId,
  );
  const endpointFleet = needsListing
    ? endpointFleetMap(await d.thoth.listEndpoints(d.intent.fleet.id), d.intent.fleet.id)
    : undefined;
  return { keys, deliveredKeyId, endpointFleet };
}

/** Keys the guard refused; nothing of the batch was revoked. The message names each key and why. */
export class RevocationRefused extends Error {
  readonly refusals: readonly { readonly keyId: string; readonly why: string }[];

  constructor(refusals: readonly { readonly keyId: string; readonly why: string }[]) {
    super(
      `not revoked: ${refusals.map((r) => `${r.keyId}: ${r.why}`).join('; ')}. Nothing was revoked in this step: ` +
        'the evidence record or the configuration is not what this rotation expects, so a person must look',
    );
    this.name = 'RevocationRefused';
    this.refusals = refusals;
  }

  /** One evidence event per refused key. */
  events(): EventInput[] {
    return this.refusals.map((r) => ({
      step: 'revoke-refused',
      outcome: 'failed',
      detail: `${r.keyId} not revoked: ${r.why}`,
    }));
  }
}

export interface Revocation {
  readonly keyId: string;
  readonly result: 'revoked' | 'already-gone';
}

/**
 * The only way the action revokes a key: read live state (see readLiveKeyState), decide every
 * key of the batch, and DELETE only when all pass. A refusal throws RevocationRefused before
 * any DELETE of the batch: one key the rotation does not own means its record cannot be
 * trusted for the others either. A key already gone or inactive costs no request.
 */
export async function revokeChecked(
  d: GuardDeps,
  keyIds: readonly string[],
  o: { known?: KnownLiveState; deliveredAllowed?: string | undefined } = {},
): Promise<Revocation[]> {
  const ids = [...new Set(keyIds)];
  if (ids.length === 0) return [];
  const live = await readLiveKeyState(d, ids, o.known);
  const scope: GuardScope = {
    fleetId: d.intent.fleet.id,
    endpointId: d.intent.key.endpointId,
    deliveredAllowed: o.deliveredAllowed,
  };
  const decided = ids.map((keyId) => ({ keyId, decision: decideRevocation(keyId, scope, live) }));
  const refused = decided.flatMap(({ keyId, decision }) =>
    decision.kind === 'refuse' ? [{ keyId, why: decision.why }] : [],
  );
  if (refused.length > 0) throw new RevocationRefused(refused);
  const done: Revocation[] = [];
  for (const { keyId, decision } of decided)
    done.push({ keyId, result: decision.kind === 'revoke' ? await d.thoth.revokeKey(keyId) : 'already-gone' });
  return done;
}
