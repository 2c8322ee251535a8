import type { ApiKey } from '../clients/thoth.js';
import type { Intent } from '../intent/types.js';

/** The keys one intent's fleet must stop accepting. */
export interface RevocationTarget {
  readonly intent: Intent;
  readonly keyIds: readonly string[];
}

export interface TenantView {
  /** Key list of the tenant the intent lives in. */
  readonly keys: readonly ApiKey[];
  /** endpoint_id → fleet_id, for endpoint-scoped keys. */
  readonly endpointFleet: ReadonlyMap<string, string>;
}

/**
 * Which intents each key id belongs to, decided before anything is mutated.
 * Pure: an unknown id, another tenant's key, or a key of no intent's fleet is a
 * problem (one per id), and any problem means nothing is revoked.
 */
export function assignKeys(
  keyIds: readonly string[],
  intents: readonly Intent[],
  viewOf: (intent: Intent) => TenantView,
): { targets: RevocationTarget[]; problems: string[] } {
  const problems: string[] = [];
  const byIntent = new Map<Intent, string[]>();
  for (const id of keyIds) {
    let known = false;
    const owners: Intent[] = [];
    for (const intent of intents) {
      const view = viewOf(intent);
      const row = view.keys.find((k) => k.keyId === id);
      if (!row) continue;
      known = true;
      if (fleetOfKey(row, view.endpointFleet) === intent.fleet.id) owners.push(intent);
    }
    if (!known) {
      problems.push(
        `key-ids: ${id} is not in the key list of tenant ${[...new Set(intents.map((i) => i.tenant))].join(', ')} (mistyped, another tenant's key, or already deleted)`,
      );
    } else if (owners.length === 0) {
      problems.push(
        `key-ids: ${id} does not belong to the fleet of any intent (${[...new Set(intents.map((i) => i.fleet.id))].join(', ')}); add an intent for its fleet or revoke it in the Thoth console`,
      );
    }
    for (const intent of owners) byIntent.set(intent, [...(byIntent.get(intent) ?? []), id]);
  }
  return { targets: problems.length ? [] : [...byIntent].map(([intent, ids]) => ({ intent, keyIds: ids })), problems };
}

/**
 * The fleet a key belongs to by its live scope: a fleet key's target, or the fleet of an
 * endpoint key's endpoint (from the fleet's endpoint listing); undefined for organization and
 * agent keys and for an endpoint no listing places.
 */
export function fleetOfKey(
  row: Pick<ApiKey, 'scopeLevel' | 'scopeTargetId'>,
  endpointFleet: ReadonlyMap<string, string>,
): string | undefined {
  if (!row.scopeTargetId) return undefined;
  if (row.scopeLevel === 'fleet') return row.scopeTargetId;
  if (row.scopeLevel === 'endpoint') return endpointFleet.get(row.scopeTargetId);
  return undefined;
}

/**
 * endpoint_id → fleet_id from a `GET endpoints?fleet_id=` listing. A row without `fleet_id`
 * belongs to the fleet the listing was asked for (the server filters by it).
 */
export function endpointFleetMap(
  endpoints: readonly { readonly endpointId: string; readonly fleetId?: string | undefined }[],
  listedFleet: string,
): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of endpoints) m.set(e.endpointId, e.fleetId ?? listedFleet);
  return m;
}
