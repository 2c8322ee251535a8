/**
 * Which computer-inventory, group-membership and blank-push paths a simulated Jamf Pro of a
 * given version serves, and which field names its inventory uses. Read from Jamf's published
 * OpenAPI schemas as committed in deploymenttheory/go-sdk-jamfpro-v2 `openapi-specs/<version>/`
 * (api-schema.json for the Jamf Pro API, swagger.yaml for Classic), oldest 11.23.2, newest
 * 11.32.0. The simulator models the server on its own: it does not import the action's table.
 *
 * Before 11.23 no schema is at hand, so the simulator serves only what every such version is
 * known to have (v1 inventory, Classic groups and Classic BlankPush): a real 11.20 may serve
 * more, never less, so a simulated one is not kinder than the real thing.
 */

/** The newest schema in go-sdk-jamfpro-v2/openapi-specs: the simulator's default version. */
export const NEWEST_JAMF_VERSION = '11.32.0-t1787580540993';

export type InventoryVersion = 'v1' | 'v2' | 'v3' | 'v4';

export interface ServedJamfApi {
  /** The server's version string, as `GET /api/v1/jamf-pro-version` answers it. */
  readonly version: string;
  /** `/api/{v}/computers-inventory` paths served. */
  readonly inventory: ReadonlySet<InventoryVersion>;
  /** `/api/{v}/computer-groups/smart-group-membership/{id}` paths served. */
  readonly membership: ReadonlySet<'v2' | 'v3'>;
  /** `POST /api/v2/mdm/blank-push`. */
  readonly blankPush: boolean;
  /** Classic `POST /JSSResource/computercommands/command/BlankPush/id/{ids}`. */
  readonly classicBlankPush: boolean;
}

function numbers(version: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`sim jamf: version ${version} is not major.minor[.patch][-build]`);
  return [Number(m[1]), Number(m[2])];
}

/** What a server of `version` serves (any string starting major.minor; 10.x included). */
export function servedBy(version: string): ServedJamfApi {
  const [major, minor] = numbers(version);
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  const inventory = new Set<InventoryVersion>(['v1']);
  // v2 and v3 are in every schema from 11.23.2 on (deprecated 2025-11-06 and 2026-07-14);
  // v4 first in 11.30.0 (changelog "11.30.0 Additions"). v1 (deprecated 2025-06-30) is still
  // in 11.32.0 (changelog "11.32 Changes" lists GET /v1…/v4 /computers-inventory).
  if (atLeast(11, 23)) inventory.add('v2').add('v3');
  if (atLeast(11, 30)) inventory.add('v4');
  const membership = new Set<'v2' | 'v3'>();
  // /v2/computer-groups/smart-group-membership/{id}: 11.23.2 on (deprecated 2026-05-28, still
  // in 11.30.1); /v3/…: first in the 11.28.0 schema.
  if (atLeast(11, 23)) membership.add('v2');
  if (atLeast(11, 28)) membership.add('v3');
  return {
    version,
    inventory,
    membership,
    // /v2/mdm/blank-push: every schema from 11.23.2 on.
    blankPush: atLeast(11, 23),
    // Classic BlankPush: in swagger.yaml up to 11.27.1 ("BlankPush Deprecated on 2025-05-27"),
    // gone from 11.28.0 (changelog "11.28.0 Classic API Removals").
    classicBlankPush: !atLeast(11, 28),
  };
}
