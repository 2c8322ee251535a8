/**
 * Which Jamf Pro API calls (and field names) a server of a given version has, per Jamf's
 * published OpenAPI schema for that version. The schemas are the ones Jamf serves at
 * `{server}/api/schema/`, as committed in deploymenttheory/go-sdk-jamfpro-v2 under
 * `openapi-specs/<version>/api-schema.json` (Jamf Pro API) and `.../swagger.yaml` (Classic);
 * the oldest there is 11.23.2, the newest 11.32.0. Each row of {@link JAMF_API_SHAPES}
 * names the files it was read from.
 *
 * The action reads `GET /api/v1/jamf-pro-version` once per run and uses the row whose range
 * holds that version. Older than 11.0, or a version that does not parse: refused before any
 * call that could write. A version newer than every known schema gets the newest row.
 */

/** A Jamf Pro version as `GET /api/v1/jamf-pro-version` reports it, e.g. `11.4.1-t1712345678`. */
export interface JamfVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** What the server said (already checked to be a version: digits, dots, a `-build` suffix). */
  readonly text: string;
}

/**
 * `major.minor[.patch]` with an optional build suffix (`-t<epoch ms>` on every schema folder
 * name in go-sdk-jamfpro-v2/openapi-specs; `JamfProVersion.version`, a plain string whose
 * example is "10.9.0", in every api-schema.json). Nothing else is taken for a version.
 */
const VERSION = /^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:-[A-Za-z0-9][A-Za-z0-9.]{0,40})?$/;

export function parseJamfVersion(raw: unknown): JamfVersion | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  const m = VERSION.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text };
}

/** Negative when a < b (major, minor, patch; the build suffix does not order versions). */
export function compareJamfVersions(
  a: Pick<JamfVersion, 'major' | 'minor' | 'patch'>,
  b: Pick<JamfVersion, 'major' | 'minor' | 'patch'>,
): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** How the smart-group membership is read. */
export type JamfMembership =
  /** `GET {path}{groupId}` → `{members:[id]}`; a 404 (static group, or none) falls back to Classic. */
  | { readonly kind: 'jamf-pro'; readonly path: string }
  /** Only Classic `GET /JSSResource/computergroups/id/{groupId}` (smart and static groups alike). */
  | { readonly kind: 'classic' };

/** How a blank push is sent. */
export type JamfBlankPush =
  /** `POST /api/v2/mdm/blank-push` `{clientManagementIds}` → `{errorUuids}`. */
  | 'jamf-pro'
  /** Classic `POST /JSSResource/computercommands/command/BlankPush/id/{id,id,…}` (computer ids). */
  | 'classic';

export interface JamfApiShape {
  /** Lowest version (inclusive) of the row's range; the next row's `from` ends it. */
  readonly from: { readonly major: number; readonly minor: number; readonly patch: number };
  /** Computer inventory list (`GET`, paged, `section`, `filter` RSQL, `sort`). */
  readonly inventoryPath: string;
  /**
   * `general` fields holding the agent's last contact, first present wins (v4 renamed
   * v1–v3's `lastContactTime` to `lastContact` and added `lastCheckIn`).
   */
  readonly contactFields: readonly string[];
  /** The RSQL field a validation poll filters on (listed in the endpoint's `filter` description). */
  readonly contactFilter: string;
  /** `general` field of the last inventory report (the extension attributes are as fresh as it). */
  readonly reportField: string;
  /** `general` field of the management id a Jamf Pro API blank push takes. */
  readonly managementIdField: string;
  /** `section` values asked for; every row's endpoint lists both in its section enum. */
  readonly sections: readonly string[];
  readonly membership: JamfMembership;
  readonly blankPush: JamfBlankPush;
  /** The schema files (and other sources) the row was read from. */
  readonly source: string;
}

/** The oldest Jamf Pro the action supports. */
export const JAMF_MIN_VERSION = { major: 11, minor: 0, patch: 0 } as const;

const SECTIONS = ['GENERAL', 'EXTENSION_ATTRIBUTES'] as const;
const V1_V3 = {
  contactFields: ['lastContactTime'],
  contactFilter: 'general.lastContactTime',
  reportField: 'reportDate',
  managementIdField: 'managementId',
  sections: SECTIONS,
} as const;

/** Oldest first; ranges are contiguous. */
export const JAMF_API_SHAPES: readonly JamfApiShape[] = [
  {
    // No schema of 11.0–11.22 is in go-sdk-jamfpro-v2 (its oldest is 11.23.2), so this row uses
    // only calls every one of those versions has: /v1/computers-inventory (Jamf Pro API since
    // 10.x; still served, deprecated 2025-06-30, in every schema 11.23.2…11.32.0; its
    // ComputerGeneral has lastContactTime, reportDate, managementId — also in the models
    // ruby-jss generated from 11.6.1 and 11.9.2 servers, PixarAnimationStudios/ruby-jss
    // lib/jamf/api/jamf_pro/oapi_schemas/computer_general.rb), Classic computergroups (the
    // group with its computers), and Classic computercommands BlankPush (in the Classic
    // swagger up to 11.27.1, "BlankPush Deprecated on 2025-05-27"; removed in 11.28).
    from: { major: 11, minor: 0, patch: 0 },
    inventoryPath: '/api/v1/computers-inventory',
    ...V1_V3,
    membership: { kind: 'classic' },
    blankPush: 'classic',
    source:
      'go-sdk-jamfpro-v2 openapi-specs/11.23.2-t1767621885710 api-schema.json (/v1/computers-inventory, ComputerGeneral) and swagger.yaml (/computergroups/id/{id}, /computercommands/command/{command}/id/{id}); ruby-jss oapi_schemas from 11.6.1/11.9.2',
  },
  {
    // 11.23.2…11.27.1: /v3/computers-inventory current (v1, v2 deprecated), ComputerGeneral
    // with lastContactTime; /v2/computer-groups/smart-group-membership/{id}; /v2/mdm/blank-push
    // (privilege "View MDM command information in Jamf Pro API").
    from: { major: 11, minor: 23, patch: 0 },
    inventoryPath: '/api/v3/computers-inventory',
    ...V1_V3,
    membership: { kind: 'jamf-pro', path: '/api/v2/computer-groups/smart-group-membership/' },
    blankPush: 'jamf-pro',
    source:
      'go-sdk-jamfpro-v2 openapi-specs/11.23.2-t1767621885710, 11.25.2-t1772925731845, 11.26.1-t1774880441315, 11.27.0-t1776264729651, 11.27.1-t1777388207638 api-schema.json',
  },
  {
    // 11.28.0: /v3/computer-groups/smart-group-membership/{id} first appears (v2 deprecated
    // 2026-05-28); the Classic BlankPush command is gone from swagger.yaml.
    from: { major: 11, minor: 28, patch: 0 },
    inventoryPath: '/api/v3/computers-inventory',
    ...V1_V3,
    membership: { kind: 'jamf-pro', path: '/api/v3/computer-groups/smart-group-membership/' },
    blankPush: 'jamf-pro',
    source:
      'go-sdk-jamfpro-v2 openapi-specs/11.28.0-t1778099559180, 11.28.1-t1779801919649, 11.29.1-t1782156420899 api-schema.json and swagger.yaml',
  },
  {
    // 11.30.0: /v4/computers-inventory (ComputerGeneralV4: lastContact, lastCheckIn; filter on
    // general.lastContact / general.lastCheckIn); v3 deprecated 2026-07-14. Same in 11.32.0.
    from: { major: 11, minor: 30, patch: 0 },
    inventoryPath: '/api/v4/computers-inventory',
    contactFields: ['lastContact', 'lastCheckIn'],
    contactFilter: 'general.lastContact',
    reportField: 'reportDate',
    managementIdField: 'managementId',
    sections: SECTIONS,
    membership: { kind: 'jamf-pro', path: '/api/v3/computer-groups/smart-group-membership/' },
    blankPush: 'jamf-pro',
    source:
      'go-sdk-jamfpro-v2 openapi-specs/11.30.0-t1782920582649, 11.30.1-t1784555528405, 11.32.0-t1787580540993 api-schema.json',
  },
];

/** The newest Jamf Pro whose schema the table was checked against (the simulator's default). */
export const JAMF_NEWEST_KNOWN = '11.32.0-t1787580540993';

/** An unsupported or unreadable server version: the run stops before anything is written. */
export class JamfVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JamfVersionError';
  }
}

const SUPPORTED = `thoth-rotate supports Jamf Pro ${JAMF_MIN_VERSION.major}.${JAMF_MIN_VERSION.minor} and later`;

/** The row for this version; a JamfVersionError below 11.0. `where` names the server in the message. */
export function jamfShapeFor(v: JamfVersion, where: string): JamfApiShape {
  if (compareJamfVersions(v, JAMF_MIN_VERSION) < 0) {
    throw new JamfVersionError(
      `jamf: ${where} runs Jamf Pro ${v.text}; ${SUPPORTED}. Nothing was changed: upgrade Jamf Pro, or rotate this fleet's key by hand`,
    );
  }
  let row = JAMF_API_SHAPES[0]!;
  for (const r of JAMF_API_SHAPES) if (compareJamfVersions(v, r.from) >= 0) row = r;
  return row;
}

/** The error for a `jamf-pro-version` answer that is not a version (quoted bounded, never whole). */
export function unreadableJamfVersion(raw: unknown, where: string): JamfVersionError {
  const shown =
    typeof raw === 'string'
      ? JSON.stringify(raw.slice(0, 40)) + (raw.length > 40 ? '…' : '')
      : raw === undefined
        ? 'nothing'
        : `a ${typeof raw}`;
  return new JamfVersionError(
    `jamf: ${where} reported version ${shown} on GET /api/v1/jamf-pro-version, which is not a Jamf Pro version (e.g. 11.4.1-t1712345678); ${SUPPORTED}. Nothing was changed`,
  );
}
