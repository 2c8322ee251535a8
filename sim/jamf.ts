/**
 * Jamf Pro simulator (reference/mdm.md Part A): OAuth client credentials, the Classic macOS
 * configuration profile (XML, payloads as entity-escaped plist), computer groups, inventory
 * with RSQL, blank push. It is a server of one version (`version`, default the newest known):
 * `GET /api/v1/jamf-pro-version` answers it, and only that version's inventory, membership and
 * blank-push paths and inventory field names are served (jamf-versions.ts); other paths get
 * Jamf's 404. A clustered deployment is simulated: every response carries a `jpro-ingress`
 * cookie, and a profile read right after a write that lands on another node (no sticky
 * cookie) sees the previous version for `replicationLagMs`.
 */
import { XMLParser } from 'fast-xml-parser';
import type { Fleet } from './fleet.js';
import { bearer, json, parseForm, parseJson, xml, type Handler, type SimRequest, type SimResponse } from './http.js';
import { buildMobileconfig, readMobileconfig, topIdentity, type ThothSettings } from './payloads.js';
import { servedBy, type InventoryVersion, type ServedJamfApi } from './jamf-versions.js';
import { compileRsql, compileSort, RsqlError, type FieldDef } from './rsql.js';
import { ALNUM, HEX, iso, isRecord, type Rng } from './util.js';

export interface JamfConfig {
  tokenTtlSeconds: number;
  profileId: number;
  groupId: number;
  staticGroup: boolean;
  maxPageSize: number;
  clusterNodes: number;
  replicationLagMs: number;
  clientId: string;
  clientSecret: string;
  tenant: string;
  initial: ThothSettings;
  rng: Rng;
  /** What `GET /api/v1/jamf-pro-version` answers, e.g. `11.5.1-t1718634702`; picks the paths served. */
  version: string;
}

export interface ProfileVersion {
  version: number;
  at: Date;
  payloads: string;
  redeployOnUpdate: string | null;
  node: string;
  source: 'initial' | 'api' | 'direct';
}

const HEALTH_EA = 'Thoth Health';

/** One computer in a computers-inventory response: fleet index, when, its `general.reportDate` and last contact (ms). */
export interface ServedComputer {
  i: number;
  at: number;
  reportDate: number;
  lastContact: number;
}

/** The cluster node serving a request; `sticky` when the client sent a valid jpro-ingress cookie. */
interface Node {
  name: string;
  sticky: boolean;
}
const xmlParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  processEntities: true,
  htmlEntities: true,
  trimValues: true,
});

/** Classic API errors are an HTML "Status page" with the reason in `<p>Error: …</p>`. */
function statusPage(status: number, title: string, error: string): SimResponse {
  const body = `<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style="font-family:sans-serif">\n<p style="font-size:1.2em;font-weight:bold;margin:1em 0px">${title}</p>\n<p>Error: ${text(error)}</p>\n<p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html">here</a>.<br>\nPlease continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>\n`;
  return { status, headers: { 'content-type': 'text/html;charset=UTF-8' }, body };
}

function apiError(status: number, code: string, description: string, field: string | null = null): SimResponse {
  return json(status, { httpStatus: status, errors: [{ code, field, description, id: '0' }] });
}

/**
 * Jamf Pro's own 404 for a path it does not serve: an ApiError with no causes (Jamf-Concepts/
 * jamf-cli internal/client/client_test.go TestGatewayUnservedNote pins it as
 * `{"httpStatus":404,"errors":[]}`, "Jamf Pro's own 404").
 */
function unserved(): SimResponse {
  return json(404, { httpStatus: 404, errors: [] });
}

/** Element text as Jamf writes it: only &, <, > escaped. */
function text(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class JamfState {
  private readonly cfg: JamfConfig;
  private readonly fleet: Fleet;
  private readonly tokens = new Map<string, { expiresAt: number; dead: boolean }>();
  private readonly versions: ProfileVersion[] = [];
  private readonly nodes: string[];
  private readonly members: number[];
  private readonly computers: number[];
  private readonly parsed = new Map<number, ThothSettings | null>();
  private readonly uuid: string;
  private readonly served: ServedJamfApi;
  private ghosts = 0;
  private rr = 0;
  /** Each computer computers-inventory served since `trackInventory()`, as of which report. */
  private servedLog: ServedComputer[] | undefined;

  constructor(cfg: JamfConfig, fleet: Fleet) {
    this.cfg = cfg;
    this.fleet = fleet;
    this.served = servedBy(cfg.version);
    this.nodes = Array.from({ length: Math.max(1, cfg.clusterNodes) }, () => cfg.rng.chars(HEX, 32));
    this.uuid = cfg.rng.uuid().toUpperCase();
    const payloads = buildMobileconfig(cfg.initial, {
      tenant: cfg.tenant,
      uuid: this.uuid,
      thothPayloadUuid: cfg.rng.uuid().toUpperCase(),
      otherPayloadUuid: cfg.rng.uuid().toUpperCase(),
    });
    this.versions.push({
      version: 1,
      at: new Date(),
      payloads,
      redeployOnUpdate: null,
      node: this.nodes[0] ?? '',
      source: 'initial',
    });
    this.computers = [];
    this.members = [];
    for (let i = 0; i < fleet.total; i++) {
      if (!fleet.inJamf(i)) continue;
      this.computers.push(i);
      if (fleet.inFleet(i)) this.members.push(i);
    }
  }

  // ---- test API -------------------------------------------------------------------------
  /** From now on, note every computer an inventory response carries (off by default: the bench serves millions). */
  trackInventory(): void {
    this.servedLog ??= [];
  }

  /** What inventory responses carried since `trackInventory()`. */
  inventoryServed(): readonly ServedComputer[] {
    return this.servedLog ?? [];
  }

  /** The version this server reports and the paths it serves. */
  get api(): ServedJamfApi {
    return this.served;
  }
  get ghostProfiles(): number {
    return this.ghosts;
  }
  /** The profile's payloads (mobileconfig text), one per version, oldest first. */
  profileVersions(): string[] {
    return this.versions.map((v) => v.payloads);
  }
  /** The same versions with when/how they were written. */
  profileHistory(): ProfileVersion[] {
    return this.versions.map((v) => ({ ...v }));
  }
  currentPayloads(): string {
    return this.current().payloads;
  }
  /** Replaces the profile payloads without HTTP (e.g. to deploy a revoked key in a test). */
  setPayloads(payloads: string): void {
    this.record(payloads, null, this.nodes[0] ?? '', 'direct');
  }
  /** Every bearer token ever issued (for leak scans). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }
  /** Fleet indices in the target group. */
  groupMembers(): number[] {
    return [...this.members];
  }
  /** What endpoint i receives from Jamf now: the profile, if the device is in its scope. */
  deliveredConfig(i: number): ThothSettings | null {
    if (!this.fleet.inJamf(i) || !this.fleet.inFleet(i)) return null;
    const v = this.current();
    if (!this.parsed.has(v.version)) this.parsed.set(v.version, readMobileconfig(v.payloads));
    return this.parsed.get(v.version) ?? null;
  }

  private current(): ProfileVersion {
    return this.versions[this.versions.length - 1] as ProfileVersion;
  }
  private record(
    payloads: string,
    redeploy: string | null,
    node: string,
    source: ProfileVersion['source'],
  ): ProfileVersion {
    const v: ProfileVersion = {
      version: this.versions.length + 1,
      at: new Date(),
      payloads,
      redeployOnUpdate: redeploy,
      node,
      source,
    };
    this.versions.push(v);
    return v;
  }

  // ---- HTTP -----------------------------------------------------------------------------
  handler: Handler = (req) => {
    const node = this.nodeFor(req);
    const out = this.route(req, node);
    out.headers = { ...out.headers, 'set-cookie': `jpro-ingress=${node.name}; Path=/; HttpOnly; SameSite=None` };
    return out;
  };

  /** The sticky cookie picks the node; without one the load balancer round-robins. */
  private nodeFor(req: SimRequest): Node {
    const m = /(?:^|;\s*)jpro-ingress=([^;]+)/.exec(req.header('cookie') ?? '');
    if (m?.[1] && this.nodes.includes(m[1])) return { name: m[1], sticky: true };
    return { name: this.nodes[this.rr++ % this.nodes.length] ?? '', sticky: false };
  }

  private route(req: SimRequest, node: Node): SimResponse {
    const p = req.path.replace(/\/+$/, '');
    if (req.method === 'POST' && (p === '/api/v1/oauth/token' || p === '/api/oauth/token')) return this.token(req);
    const classic = p.startsWith('/JSSResource/');
    const tok = bearer(req);
    const t = tok === undefined ? undefined : this.tokens.get(tok);
    if (!t || t.dead || Date.now() >= t.expiresAt) {
      return classic
        ? statusPage(401, 'Unauthorized', 'The request requires user authentication')
        : apiError(401, 'INVALID_TOKEN', 'Unauthorized');
    }
    if (req.method === 'POST' && p === '/api/v1/auth/invalidate-token') {
      t.dead = true;
      return { status: 204 };
    }
    // JamfProVersion {version: string} (api-schema.json, every version).
    if (req.method === 'GET' && p === '/api/v1/jamf-pro-version') return json(200, { version: this.cfg.version });
    const prof = /^\/JSSResource\/osxconfigurationprofiles\/id\/(\d+)(?:\/subset\/(.+))?$/.exec(p);
    if (prof) {
      if (Number(prof[1]) !== this.cfg.profileId)
        return statusPage(404, 'Not Found', 'The server has not found anything matching the request URI');
      if (req.method === 'GET') return this.getProfile(node, prof[2]);
      if (req.method === 'PUT' && !prof[2]) return this.putProfile(req, node);
      return statusPage(405, 'Method Not Allowed', 'The method specified is not allowed');
    }
    const grp = /^\/JSSResource\/computergroups\/id\/(\d+)$/.exec(p);
    if (grp && req.method === 'GET') return this.classicGroup(Number(grp[1]));
    const smart = /^\/api\/(v[23])\/computer-groups\/smart-group-membership\/(\d+)$/.exec(p);
    if (smart && req.method === 'GET' && this.served.membership.has(smart[1] as 'v2' | 'v3')) {
      const group = smart[2] ?? '';
      if (Number(group) !== this.cfg.groupId || this.cfg.staticGroup)
        return apiError(404, 'NOT_FOUND', `Smart computer group with id ${group} not found`, 'id');
      return json(200, { members: this.members.map((i) => this.fleet.jamfId(i)) });
    }
    const inv = /^\/api\/(v[1-4])\/computers-inventory$/.exec(p);
    if (inv && req.method === 'GET' && this.served.inventory.has(inv[1] as InventoryVersion))
      return this.inventory(req, inv[1] as InventoryVersion);
    if (req.method === 'POST' && p === '/api/v2/mdm/blank-push' && this.served.blankPush) return this.blankPush(req);
    const push = /^\/JSSResource\/computercommands\/command\/BlankPush\/id\/([\d,]+)$/.exec(p);
    if (push && req.method === 'POST' && this.served.classicBlankPush) return this.classicBlankPush(push[1] ?? '');
    // A Classic path or command a version does not have is an HTML 404 too (jamf-cli issue #84:
    // an unknown computercommands command answers HTTP 404).
    return classic
      ? statusPage(404, 'Not Found', 'The server has not found anything matching the request URI')
      : unserved();
  }

  private token(req: SimRequest): SimResponse {
    const f = parseForm(req);
    if (!(req.header('content-type') ?? '').includes('application/x-www-form-urlencoded')) {
      return json(400, {
        error: 'invalid_request',
        error_description: 'Content-Type must be application/x-www-form-urlencoded',
      });
    }
    if (f.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    if (f.get('client_id') !== this.cfg.clientId || f.get('client_secret') !== this.cfg.clientSecret) {
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    const token = `eyJhbGciOiJIUzI1NiJ9.${this.cfg.rng.chars(ALNUM, 64)}.${this.cfg.rng.chars(ALNUM, 43)}`;
    this.tokens.set(token, { expiresAt: Date.now() + this.cfg.tokenTtlSeconds * 1000, dead: false });
    return json(200, {
      access_token: token,
      token_type: 'Bearer',
      scope: 'api-role:1',
      expires_in: this.cfg.tokenTtlSeconds,
    });
  }

  private getProfile(node: Node, subset: string | undefined): SimResponse {
    let v = this.current();
    const prev = this.versions[this.versions.length - 2];
    // Replication lag: a request not pinned to the writer's node lands on another node, which
    // has not seen the latest write yet (the deterministic version of an unlucky round-robin).
    // Direct (test) writes are visible everywhere at once.
    if (
      prev &&
      v.source === 'api' &&
      this.nodes.length > 1 &&
      (node.name !== v.node || !node.sticky) &&
      Date.now() - v.at.getTime() < this.cfg.replicationLagMs
    ) {
      if (node.name === v.node)
        node.name = this.nodes[(this.nodes.indexOf(v.node) + 1) % this.nodes.length] ?? node.name;
      v = prev;
    }
    const want = subset ? subset.toLowerCase().split(/[&,]/) : ['general', 'scope', 'selfservice'];
    const general = `<general><id>${this.cfg.profileId}</id><name>Thoth MCP Proxy Runtime</name><description>Thoth runtime API key and settings (managed by CorpSec automation)</description><site><id>-1</id><name>None</name></site><category><id>4</id><name>Security</name></category><distribution_method>Install Automatically</distribution_method><user_removable>false</user_removable><level>System</level><uuid>${this.uuid}</uuid><redeploy_on_update>Newly Assigned</redeploy_on_update><payloads>${text(v.payloads)}</payloads></general>`;
    const scope = `<scope><all_computers>false</all_computers><all_jss_users>false</all_jss_users><computers/><buildings/><departments/><computer_groups><computer_group><id>${this.cfg.groupId}</id><name>Thoth CorpSec Macs</name></computer_group></computer_groups><jss_users/><jss_user_groups/><limitations><users/><user_groups/><network_segments/><ibeacons/></limitations><exclusions><computers/><buildings/><departments/><computer_groups/><users/><user_groups/><network_segments/><ibeacons/><jss_users/><jss_user_groups/></exclusions></scope>`;
    const self = `<self_service><self_service_display_name/><install_button_text>Install</install_button_text><self_service_description/><force_users_to_view_description>false</force_users_to_view_description><security><removal_disallowed>Never</removal_disallowed></security><self_service_icon/><feature_on_main_page>false</feature_on_main_page><self_service_categories/><notification>false</notification><notification_subject>${text('Thoth MCP Proxy Runtime')}</notification_subject><notification_message/></self_service>`;
    const parts = [
      want.includes('general') ? general : '',
      want.includes('scope') ? scope : '',
      want.some((w) => w.replace(/_/g, '') === 'selfservice') ? self : '',
    ];
    return xml(
      200,
      `<?xml version="1.0" encoding="UTF-8"?><os_x_configuration_profile>${parts.join('')}</os_x_configuration_profile>`,
    );
  }

  private putProfile(req: SimRequest, node: Node): SimResponse {
    const ct = req.header('content-type') ?? '';
    if (!/xml/i.test(ct))
      return statusPage(
        415,
        'Unsupported Media Type',
        'The server is refusing to service the request because the entity of the request is in a format not supported by the requested resource for the requested method',
      );
    let doc: unknown;
    try {
      doc = xmlParser.parse(req.text, true);
    } catch {
      return statusPage(400, 'Bad Request', 'Problem with the XML document');
    }
    const root = isRecord(doc) ? doc['os_x_configuration_profile'] : undefined;
    if (!isRecord(root)) return statusPage(409, 'Conflict', 'Problem with the XML: missing os_x_configuration_profile');
    const general = isRecord(root['general']) ? root['general'] : {};
    const redeploy = typeof general['redeploy_on_update'] === 'string' ? general['redeploy_on_update'] : null;
    if (redeploy !== null && redeploy !== 'All' && redeploy !== 'Newly Assigned')
      return statusPage(409, 'Conflict', 'Problem with redeploy_on_update');
    let payloads = this.current().payloads;
    if ('payloads' in general) {
      const raw = general['payloads'];
      const id = typeof raw === 'string' ? topIdentity(raw) : undefined;
      if (typeof raw !== 'string' || !id) return statusPage(409, 'Conflict', 'Unable to parse payload');
      const cur = topIdentity(this.current().payloads);
      // A changed top-level identity installs as a second profile on devices: a "ghost".
      if (cur && (id.uuid !== cur.uuid || id.identifier !== cur.identifier)) this.ghosts++;
      payloads = raw;
    }
    this.record(payloads, redeploy, node.name, 'api');
    if (redeploy === 'All' && this.fleet.adoptOnProfileUpdate) for (const i of this.members) this.fleet.refresh(i);
    return xml(
      201,
      `<?xml version="1.0" encoding="UTF-8"?><os_x_configuration_profile><id>${this.cfg.profileId}</id></os_x_configuration_profile>`,
    );
  }

  private classicGroup(id: number): SimResponse {
    if (id !== this.cfg.groupId)
      return statusPage(404, 'Not Found', 'The server has not found anything matching the request URI');
    const f = this.fleet;
    const smart = !this.cfg.staticGroup;
    const criteria = smart
      ? '<criteria><size>1</size><criterion><name>Application Title</name><priority>0</priority><and_or>and</and_or><search_type>is</search_type><value>Thoth.app</value><opening_paren>false</opening_paren><closing_paren>false</closing_paren></criterion></criteria>'
      : '<criteria><size>0</size></criteria>';
    const rows = this.members.map(
      (i) =>
        `<computer><id>${f.jamfId(i)}</id><name>${text(f.mdmName(i))}</name><mac_address>${macOf(f.jamfId(i))}</mac_address><alt_mac_address/><serial_number>${f.serial(i)}</serial_number></computer>`,
    );
    return xml(
      200,
      `<?xml version="1.0" encoding="UTF-8"?><computer_group><id>${id}</id><name>Thoth CorpSec Macs</name><is_smart>${smart}</is_smart><site><id>-1</id><name>None</name></site>${criteria}<computers><size>${rows.length}</size>${rows.join('')}</computers></computer_group>`,
    );
  }

  /**
   * RSQL fields (the `filter` description of each version's computers-inventory): v1–v3 name
   * the agent's last contact `general.lastContactTime` (the binary check-in, as in `computer()`);
   * v4 `general.lastContact`, plus
   * `general.lastCheckIn`. A field of the other generation is refused as unknown.
   */
  private fields(v: InventoryVersion): Record<string, FieldDef> {
    const f = this.fleet;
    const contact: Record<string, FieldDef> =
      v === 'v4'
        ? {
            'general.lastContact': { kind: 'date', get: (i) => f.lastContact(i) },
            'general.lastCheckIn': { kind: 'date', get: (i) => f.lastCheckIn(i) },
          }
        : { 'general.lastContactTime': { kind: 'date', get: (i) => f.lastCheckIn(i) } };
    return {
      ...contact,
      id: { kind: 'number', get: (i) => f.jamfId(i) },
      udid: { kind: 'string', get: (i) => f.udid(i) },
      'general.name': { kind: 'string', get: (i) => f.mdmName(i) },
      'general.managementId': { kind: 'string', get: (i) => f.managementId(i) },
      'general.platform': { kind: 'string', get: () => 'Mac' },
      // The last inventory report (sim/fleet.ts inventory channel), not any check-in.
      'general.reportDate': { kind: 'date', get: (i) => f.reportDate(i) },
      'hardware.serialNumber': { kind: 'string', get: (i) => f.serial(i) },
    };
  }

  private inventory(req: SimRequest, v: InventoryVersion): SimResponse {
    const q = req.query;
    const page = Number(q.get('page') ?? '0');
    const size = Number(q.get('page-size') ?? '100');
    if (!Number.isInteger(page) || page < 0)
      return apiError(400, 'INVALID_FIELD', 'page must be a non-negative integer', 'page');
    if (!Number.isInteger(size) || size < 1 || size > this.cfg.maxPageSize) {
      return apiError(400, 'INVALID_FIELD', `page-size must be between 1 and ${this.cfg.maxPageSize}`, 'page-size');
    }
    const sections = q.getAll('section').flatMap((s) => s.split(','));
    const want = new Set(sections.length > 0 ? sections : ['GENERAL']);
    let rows = this.computers;
    const fields = this.fields(v);
    try {
      const filter = q.get('filter');
      if (filter) {
        const pred = compileRsql(filter, fields);
        rows = rows.filter(pred);
      }
      const sort = q.getAll('sort');
      // Rows are already in id order, so the default sort costs nothing.
      if (sort.length > 0 && !(sort.length === 1 && sort[0] === 'id:asc'))
        rows = [...rows].sort(compileSort(sort, fields));
    } catch (e) {
      if (e instanceof RsqlError) return apiError(400, 'INVALID_RSQL_FILTER_FIELD', e.message, 'filter');
      throw e;
    }
    const pageRows = rows.slice(page * size, page * size + size);
    if (this.servedLog) {
      const at = Date.now();
      for (const i of pageRows)
        this.servedLog.push({
          i,
          at,
          reportDate: this.fleet.reportDate(i, at),
          lastContact: this.fleet.lastContact(i, at),
        });
    }
    const results = pageRows.map((i) => this.computer(i, want, v));
    return json(200, { totalCount: rows.length, results });
  }

  private computer(i: number, want: Set<string>, v: InventoryVersion): Record<string, unknown> {
    const f = this.fleet;
    const id = f.jamfId(i);
    // Extension attributes change only when the computer submits inventory (sim/fleet.ts channels).
    const health = f.inventoryHealth(i);
    const eas = [
      {
        definitionId: '7',
        name: 'Thoth Version',
        description: 'thoth --version',
        enabled: true,
        multiValue: false,
        values: ['0.3.4'],
        dataType: 'STRING',
        options: [],
        inputType: 'SCRIPT',
      },
      {
        definitionId: '12',
        name: HEALTH_EA,
        description: 'thoth health --json',
        enabled: true,
        multiValue: false,
        values: health === null ? [] : [health],
        dataType: 'STRING',
        options: [],
        inputType: 'SCRIPT',
      },
    ];
    const out: Record<string, unknown> = { id: String(id), udid: f.udid(i) };
    const ip = `10.20.${(id >> 8) & 255}.${id & 255}`;
    // ComputerGeneral (v1–v3): lastContactTime, lastReportedIp; ComputerGeneralV4: lastContact,
    // lastCheckIn, no lastReportedIp (api-schema.json 11.30.1). Before v4 the one contact field is
    // the jamf binary's check-in (sim/fleet.ts binary channel), so an MDM check-in caused by a
    // blank push does not move it; v4's lastContact is "any channel" (go-sdk-jamfpro-v2
    // jamf_pro_api/computer_inventory/models.go), which the MDM check-in moves.
    const contact =
      v === 'v4'
        ? { lastContact: iso(f.lastContact(i)), lastCheckIn: iso(f.lastCheckIn(i)) }
        : { lastReportedIp: ip, lastContactTime: iso(f.lastCheckIn(i)) };
    out['general'] = want.has('GENERAL')
      ? {
          name: f.mdmName(i),
          lastIpAddress: ip,
          lastReportedIpV4: ip,
          lastReportedIpV6: null,
          barcode1: null,
          barcode2: null,
          assetTag: null,
          remoteManagement: { managed: true },
          supervised: true,
          mdmCapable: { capable: true, capableUsers: [] },
          reportDate: iso(f.reportDate(i)),
          ...contact,
          lastEnrolledDate: '2025-01-15T09:30:00Z',
          initialEntryDate: '2025-01-15',
          lastCloudBackupDate: null,
          enrolledViaAutomatedDeviceEnrollment: true,
          userApprovedMdm: true,
          declarativeDeviceManagementEnabled: true,
          managementId: f.managementId(i),
          site: { id: '-1', name: 'None' },
          platform: 'Mac',
          extensionAttributes: [],
        }
      : null;
    if (want.has('EXTENSION_ATTRIBUTES')) out['extensionAttributes'] = eas;
    if (want.has('HARDWARE'))
      out['hardware'] = { serialNumber: f.serial(i), model: 'MacBook Pro (14-inch, 2024)', macAddress: macOf(id) };
    if (want.has('CONFIGURATION_PROFILES')) {
      out['configurationProfiles'] = [
        {
          id: String(this.cfg.profileId),
          username: '',
          lastInstalled: iso(f.lastMdmCheckIn(i)),
          removable: false,
          displayName: 'Thoth MCP Proxy Runtime',
          profileIdentifier: topIdentity(this.current().payloads)?.identifier ?? '',
          uuid: this.uuid,
        },
      ];
    }
    return out;
  }

  private blankPush(req: SimRequest): SimResponse {
    const b = parseJson(req);
    const ids = isRecord(b) ? b['clientManagementIds'] : undefined;
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) {
      return apiError(400, 'INVALID_FIELD', 'clientManagementIds must be an array of strings', 'clientManagementIds');
    }
    const errorUuids: string[] = [];
    for (const id of ids as string[]) {
      const i = this.fleet.indexByManagementId(id);
      if (i === undefined || !this.fleet.inJamf(i)) errorUuids.push(id);
      else this.fleet.refresh(i);
    }
    return json(200, { errorUuids });
  }

  /**
   * Classic BlankPush (servers before 11.28): computer ids comma-separated in the path
   * (swagger.yaml 11.23.2 `/computercommands/command/{command}/id/{id}`: "id/33 or id/33,34").
   * The answer lists the queued commands; ids Jamf does not know are left out, and a request
   * naming none it knows is a 404 status page (the exact Classic answer is not documented).
   */
  private classicBlankPush(list: string): SimResponse {
    const known = list
      .split(',')
      .filter(Boolean)
      .map((x) => this.fleet.indexByJamfId(Number(x)))
      .filter((i): i is number => i !== undefined && this.fleet.inJamf(i));
    if (known.length === 0)
      return statusPage(404, 'Not Found', 'The server has not found anything matching the request URI');
    for (const i of known) this.fleet.refresh(i);
    const rows = known.map(
      (i) =>
        `<command><name>BlankPush</name><command_uuid>${this.cfg.rng.uuid()}</command_uuid><computer_id>${this.fleet.jamfId(i)}</computer_id></command>`,
    );
    return xml(201, `<?xml version="1.0" encoding="UTF-8"?><computer_command>${rows.join('')}</computer_command>`);
  }
}

function macOf(id: number): string {
  return `A4:83:E7:${((id >> 16) & 255).toString(16).padStart(2, '0')}:${((id >> 8) & 255).toString(16).padStart(2, '0')}:${(id & 255).toString(16).padStart(2, '0')}`.toUpperCase();
}

export function jamfMutation(req: SimRequest): boolean {
  return (
    (req.method === 'PUT' && req.path.startsWith('/JSSResource/osxconfigurationprofiles/')) ||
    (req.method === 'POST' &&
      (/^\/api\/v2\/mdm\/blank-push\/?$/.test(req.path) || req.path.startsWith('/JSSResource/computercommands/')))
  );
}
