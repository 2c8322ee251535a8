/**
 * Microsoft Graph (Intune) simulator (reference/mdm.md Part B): macOS custom configuration,
 * beta remediations (detection + remediation script) and their run states, group membership
 * with advanced-query rules, managed devices, syncDevice, the beta on-demand remediation,
 * JSON $batch, and Intune's per-app sliding-window write budgets. When Windows devices run the
 * remediation is sim/remediation.ts.
 */
import type { Fleet } from './fleet.js';
import { gerr, runBatch, type Call, type Result } from './graph-batch.js';
import { Directory, type Cast } from './graph-directory.js';
import { bearer, json, type Faults, type Handler, type SimRequest, type SimResponse } from './http.js';
import type { LoginState } from './login.js';
import {
  buildDetectionScript,
  buildMobileconfig,
  buildRemediationScript,
  readMobileconfig,
  readRemediationScript,
  topIdentity,
  type ThothSettings,
} from './payloads.js';
import { ImeChannel, type RunState } from './remediation.js';
import { b64, fromB64, iso, isRecord, type Rng } from './util.js';

export interface GraphConfig {
  groupId: string;
  macosConfigurationId: string;
  remediationId: string;
  budget: { writes: number; windowMs: number };
  configBudget: { writes: number; windowMs: number };
  retryAfterMissingRate: number;
  membersPageSize: number;
  devicesPageSize: number;
  nestedGroups: boolean;
  userMembers: number;
  batchShuffle: boolean;
  /** The IME's remediation policy retrieval cycle, and the delay of an on-demand run (sim/remediation.ts). */
  imeCycleMs: number;
  remediationDelayMs: [number, number];
  tenant: string;
  seed: number;
  initial: ThothSettings;
  rng: Rng;
  login: LoginState;
  faults: Faults;
}

export interface ContentVersion {
  version: number;
  at: Date;
  content: string;
  base64: string;
  source: 'initial' | 'api';
}

/** Sliding-window write budget: grants a write or says how long until one frees up. */
class Budget {
  private times: number[] = [];
  private head = 0;
  constructor(
    private readonly writes: number,
    private readonly windowMs: number,
  ) {}
  take(now: number): number {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= now - this.windowMs) this.head++;
    if (this.head > 4096) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    if (this.times.length - this.head < this.writes) {
      this.times.push(now);
      return 0;
    }
    return (this.times[this.head] ?? now) + this.windowMs - now;
  }
}

const MD_TYPE = 'microsoft.graph.managedDevice';
const CFG_TYPE = '#microsoft.graph.macOSCustomConfiguration';
const SCRIPT_TYPE = '#microsoft.graph.deviceHealthScript';
const READ_ONLY = [
  '@odata.context',
  'id',
  'version',
  'createdDateTime',
  'lastModifiedDateTime',
  'roleScopeTagIds',
  'supportsScopeTags',
  'isGlobalScript',
  'highestAvailableVersion',
];

export class GraphState {
  readonly directory: Directory;
  private readonly cfg: GraphConfig;
  private readonly fleet: Fleet;
  private readonly devBudget: Budget;
  private readonly cfgBudget: Budget;
  private readonly configs: ContentVersion[] = [];
  /** Remediation script versions, and detection script versions (each PATCH that carries one). */
  private readonly scripts: ContentVersion[] = [];
  private readonly detections: ContentVersion[] = [];
  /** The deviceHealthScript's own `version`: one per PATCH. */
  private scriptVersion = 1;
  private readonly parsedCfg = new Map<number, ThothSettings | null>();
  private readonly syncCount: Uint32Array;
  private readonly onDemandCount: Uint32Array;
  /** The Intune Management Extension of the Windows devices. */
  readonly ime: ImeChannel;
  private readonly created = Date.now() - 90 * 86_400_000;
  private nThrottled = 0;
  private nWrites = 0;
  private nConfigWrites = 0;
  private ghosts = 0;
  baseUrl = '';

  constructor(cfg: GraphConfig, fleet: Fleet) {
    this.cfg = cfg;
    this.fleet = fleet;
    this.devBudget = new Budget(cfg.budget.writes, cfg.budget.windowMs);
    this.cfgBudget = new Budget(cfg.configBudget.writes, cfg.configBudget.windowMs);
    this.syncCount = new Uint32Array(fleet.total);
    this.onDemandCount = new Uint32Array(fleet.total);
    this.directory = new Directory(fleet, {
      seed: cfg.seed,
      groupId: cfg.groupId,
      nestedGroups: cfg.nestedGroups,
      userMembers: cfg.userMembers,
    });
    const r = cfg.rng;
    const profile = buildMobileconfig(cfg.initial, {
      tenant: cfg.tenant,
      uuid: r.uuid().toUpperCase(),
      thothPayloadUuid: r.uuid().toUpperCase(),
      otherPayloadUuid: r.uuid().toUpperCase(),
    });
    this.configs.push({
      version: 1,
      at: new Date(this.created),
      content: profile,
      base64: b64(profile),
      source: 'initial',
    });
    const script = buildRemediationScript(cfg.initial);
    this.scripts.push({
      version: 1,
      at: new Date(this.created),
      content: script,
      base64: b64(script),
      source: 'initial',
    });
    const detection = buildDetectionScript(cfg.initial);
    this.detections.push({
      version: 1,
      at: new Date(this.created),
      content: detection,
      base64: b64(detection),
      source: 'initial',
    });
    this.ime = new ImeChannel(fleet, {
      cycleMs: cfg.imeCycleMs,
      delayMs: cfg.remediationDelayMs,
      rng: cfg.rng,
      policy: () => ({
        detection: (this.detections.at(-1) as ContentVersion).content,
        remediation: (this.scripts.at(-1) as ContentVersion).content,
      }),
      // Assigned to the target group's Windows devices that run the proxy.
      assigned: (i) => fleet.inIntune(i) && fleet.inFleet(i) && fleet.os(i) === 'windows',
    });
  }

  // ---- test API -------------------------------------------------------------------------
  throttled(): number {
    return this.nThrottled;
  }
  /** Granted Intune device writes (syncDevice, remediation PATCH). */
  writes(): number {
    return this.nWrites;
  }
  configWrites(): number {
    return this.nConfigWrites;
  }
  syncs(managedDeviceId: string): number {
    const i = this.fleet.indexByManagedDeviceId(managedDeviceId);
    return i === undefined ? 0 : (this.syncCount[i] ?? 0);
  }
  /** Accepted initiateOnDemandProactiveRemediation actions for the device. */
  onDemandRemediations(managedDeviceId: string): number {
    const i = this.fleet.indexByManagedDeviceId(managedDeviceId);
    return i === undefined ? 0 : (this.onDemandCount[i] ?? 0);
  }
  /** The device's remediation run state (what deviceRunStates serves for it). */
  runState(i: number): RunState | undefined {
    return this.ime.state(i);
  }
  /** Decoded mobileconfig of the macOS configuration, one per version, oldest first. */
  configVersions(): string[] {
    return this.configs.map((v) => v.content);
  }
  configHistory(): ContentVersion[] {
    return this.configs.map((v) => ({ ...v }));
  }
  /** Decoded remediation script, one per version, oldest first. */
  scriptVersions(): string[] {
    return this.scripts.map((v) => v.content);
  }
  scriptHistory(): ContentVersion[] {
    return this.scripts.map((v) => ({ ...v }));
  }
  /** Decoded detection script, one per version, oldest first. */
  detectionVersions(): string[] {
    return this.detections.map((v) => v.content);
  }
  detectionHistory(): ContentVersion[] {
    return this.detections.map((v) => ({ ...v }));
  }
  get ghostProfiles(): number {
    return this.ghosts;
  }
  /** Fleet indices targeted by the group (directly, nested, or through a user). */
  groupMembers(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.fleet.size; i++) if (this.fleet.inIntune(i)) out.push(i);
    return out;
  }
  /**
   * What an MDM check-in (after syncDevice) delivers: the macOS custom configuration. A Windows
   * device gets nothing this way: its key comes only from running the remediation, which the
   * IME fetches on its own schedule or on demand (sim/remediation.ts).
   */
  deliveredConfig(i: number): ThothSettings | null {
    if (!this.fleet.inIntune(i) || !this.fleet.inFleet(i) || this.fleet.os(i) !== 'macos') return null;
    const v = this.configs.at(-1);
    if (!v) return null;
    if (!this.parsedCfg.has(v.version)) this.parsedCfg.set(v.version, readMobileconfig(v.content));
    return this.parsedCfg.get(v.version) ?? null;
  }

  /**
   * What the group's configuration holds for the device, whichever way it reaches it: the macOS
   * custom configuration, or the remediation script a Windows device runs (the test oracle
   * judges what the configuration carries at every DELETE, not when a device picks it up).
   */
  configuredSettings(i: number): ThothSettings | null {
    if (!this.fleet.inIntune(i) || !this.fleet.inFleet(i)) return null;
    if (this.fleet.os(i) === 'macos') return this.deliveredConfig(i);
    const script = this.scripts.at(-1);
    return script ? readRemediationScript(script.content) : null;
  }

  // ---- HTTP -----------------------------------------------------------------------------
  handler: Handler = (req) => {
    const reqId = req.header('client-request-id') ?? crypto.randomUUID();
    const auth = this.cfg.login.check(bearer(req));
    let res: Result;
    if (auth !== 'ok') {
      res = gerr(
        401,
        'InvalidAuthenticationToken',
        auth === 'missing'
          ? 'Access token is empty.'
          : auth === 'expired'
            ? 'Lifetime validation failed, the token is expired.'
            : 'IDX14100: JWT is not well formed.',
      );
    } else {
      let body: unknown;
      if (req.text.trim() !== '') {
        try {
          body = JSON.parse(req.text) as unknown;
        } catch {
          return this.toHttp(
            gerr(
              400,
              'BadRequest',
              'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
            ),
            reqId,
          );
        }
      }
      res = this.exec({ method: req.method, path: req.path, query: req.query, header: (n) => req.header(n), body });
    }
    return this.toHttp(res, reqId);
  };

  private toHttp(r: Result, reqId: string): SimResponse {
    const headers: Record<string, string> = {
      'request-id': crypto.randomUUID(),
      'client-request-id': reqId,
      'x-ms-ags-diagnostic': '{"ServerInfo":{"DataCenter":"Sim","Slice":"E"}}',
      ...r.headers,
    };
    if (r.body === undefined) return { status: r.status, headers };
    return json(r.status, r.body, {
      ...headers,
      'content-type':
        'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
    });
  }

  private exec(c: Call): Result {
    const m = /^\/(v1\.0|beta)(\/.*)$/.exec(c.path.replace(/\/+$/, ''));
    if (!m) return gerr(400, 'BadRequest', 'Invalid version.');
    const ver = m[1] ?? 'v1.0';
    const p = m[2] ?? '';
    const seg = p.split('/').slice(1);
    const id = seg[2] ?? '';
    if (p === '/$batch' && c.method === 'POST')
      return runBatch(ver, c, (x) => this.exec(x), {
        faults: this.cfg.faults,
        rng: this.cfg.rng,
        shuffle: this.cfg.batchShuffle,
      });
    if (seg[0] === 'deviceManagement') {
      if (seg[1] === 'deviceConfigurations' && seg.length === 3) {
        if (id !== this.cfg.macosConfigurationId)
          return gerr(404, 'ResourceNotFound', `deviceConfiguration ${id} not found`);
        if (c.method === 'GET') return { status: 200, body: this.configJson(ver) };
        if (c.method === 'PATCH') return this.patchConfig(c);
      }
      if (seg[1] === 'deviceHealthScripts') {
        if (ver !== 'beta') return gerr(400, 'BadRequest', "Resource not found for the segment 'deviceHealthScripts'.");
        if (seg.length >= 3 && id !== this.cfg.remediationId)
          return gerr(404, 'ResourceNotFound', `deviceHealthScript ${id} not found`);
        if (seg.length === 3 && c.method === 'GET') return { status: 200, body: this.scriptJson() };
        if (seg.length === 3 && c.method === 'PATCH') return this.patchScript(c);
        if (seg.length === 4 && seg[3] === 'deviceRunStates' && c.method === 'GET') return this.runStates(ver, c);
      }
      if (seg[1] === 'managedDevices') {
        if (seg.length === 2 && c.method === 'GET') {
          const rows: number[] = [];
          for (let i = 0; i < this.fleet.total; i++) if (this.fleet.inIntune(i)) rows.push(i);
          // $filter is ignored on purpose: Graph silently ignores several managedDevices filters.
          return this.page(
            c,
            rows,
            this.cfg.devicesPageSize,
            Math.max(1000, this.cfg.devicesPageSize),
            `/${ver}${p}`,
            (i) => this.managedDevice(i),
            MD_TYPE,
          );
        }
        const i = this.fleet.indexByManagedDeviceId(id);
        if (i === undefined || !this.fleet.inIntune(i))
          return gerr(404, 'ResourceNotFound', `managedDevice ${id} not found`);
        if (seg.length === 3 && c.method === 'GET') return this.selectOne(c, this.managedDevice(i), MD_TYPE);
        if (seg.length === 4 && seg[3] === 'syncDevice' && c.method === 'POST') return this.sync(i);
        if (seg.length === 4 && seg[3] === 'initiateOnDemandProactiveRemediation' && c.method === 'POST') {
          // Beta only (msgraph-metadata schemas/beta-Prod.csdl; no such action in v1.0).
          if (ver !== 'beta')
            return gerr(
              400,
              'BadRequest',
              "Resource not found for the segment 'initiateOnDemandProactiveRemediation'.",
            );
          return this.remediateOnDemand(i, c);
        }
      }
    }
    if (seg[0] === 'groups' && c.method === 'GET') {
      if (!this.directory.hasGroup(seg[1] ?? ''))
        return gerr(
          404,
          'Request_ResourceNotFound',
          `Resource '${seg[1] ?? ''}' does not exist or one of its queried reference-property objects are not present.`,
        );
      if (seg.length === 2)
        return {
          status: 200,
          body: {
            id: seg[1],
            displayName: 'Thoth CorpSec devices',
            securityEnabled: true,
            mailEnabled: false,
            groupTypes: [],
          },
        };
      if ((seg[2] === 'members' || seg[2] === 'transitiveMembers') && seg.length <= 4) {
        const castSeg = seg[3];
        const cast =
          castSeg === undefined ? undefined : (/^microsoft\.graph\.(device|user|group)$/.exec(castSeg)?.[1] as Cast);
        if (castSeg !== undefined && cast === undefined)
          return gerr(400, 'BadRequest', `Resource not found for the segment '${castSeg}'.`);
        return this.listMembers(c, `/${ver}${p}`, seg[1] ?? '', seg[2] === 'transitiveMembers', cast);
      }
    }
    if (seg[0] === 'users' && seg.length === 3 && seg[2] === 'managedDevices' && c.method === 'GET') {
      const u = this.directory.userIndex(seg[1] ?? '');
      if (u === undefined)
        return gerr(
          404,
          'Request_ResourceNotFound',
          `Resource '${seg[1] ?? ''}' does not exist or one of its queried reference-property objects are not present.`,
        );
      const d = this.directory.deviceOfUser(u);
      return this.page(c, d === undefined ? [] : [d], 100, 1000, `/${ver}${p}`, (i) => this.managedDevice(i), MD_TYPE);
    }
    return gerr(400, 'BadRequest', `Resource not found for the segment '${seg[seg.length - 1] ?? ''}'.`);
  }

  // ---- listing & paging -----------------------------------------------------------------
  private listMembers(c: Call, path: string, groupId: string, transitive: boolean, cast: Cast): Result {
    // Casting a directory listing is an "advanced query": ConsistencyLevel on every page.
    const advanced =
      cast !== undefined ||
      c.query.get('$count') === 'true' ||
      c.query.has('$filter') ||
      c.query.has('$search') ||
      c.query.has('$orderby');
    if (advanced && c.header('consistencylevel')?.toLowerCase() !== 'eventual') {
      return gerr(
        400,
        'Request_UnsupportedQuery',
        'Unsupported Query. The ConsistencyLevel header with value eventual is required for this query (OData cast, $count, $filter, $search or $orderby).',
      );
    }
    if (cast !== undefined && c.query.get('$count') !== 'true')
      return gerr(400, 'Request_UnsupportedQuery', 'Unsupported Query. An OData cast requires $count=true.');
    const refs = this.directory.members(groupId, transitive, cast);
    const type = cast ? `microsoft.graph.${cast}` : undefined;
    return this.page(c, refs, this.cfg.membersPageSize, 999, path, (r) => this.directory.object(r), type);
  }

  /** One page of `rows`, with $top/$select/$skiptoken, an absolute nextLink and page-1 count. */
  private page(
    c: Call,
    rows: number[],
    defSize: number,
    maxTop: number,
    path: string,
    make: (r: number) => Record<string, unknown>,
    type: string | undefined,
  ): Result {
    const top = c.query.get('$top');
    let size = defSize;
    if (top !== null) {
      const n = Number(top);
      if (!Number.isInteger(n) || n < 1 || n > maxTop)
        return gerr(
          400,
          'Request_BadRequest',
          `Invalid page size specified: '${top}'. Must be between 1 and ${maxTop} inclusive.`,
        );
      size = n;
    }
    let offset = 0;
    const tok = c.query.get('$skiptoken');
    if (tok !== null) {
      const m = /^RFNwdAIAAQ(.+)$/.exec(tok);
      const decoded = m?.[1] ? Buffer.from(m[1], 'base64url').toString('utf8') : '';
      const mm = /^(\d+)\|(.*)$/.exec(decoded);
      if (!mm || mm[2] !== path) return gerr(400, 'Request_BadRequest', `Invalid skip token '${tok}'.`);
      offset = Number(mm[1]);
    }
    const first = rows[0];
    const sel = this.selector(c, type, first === undefined ? undefined : make(first));
    if (typeof sel === 'string') return gerr(400, 'BadRequest', sel);
    const value = rows.slice(offset, offset + size).map((r) => sel(make(r)));
    const body: Record<string, unknown> = {
      '@odata.context': `${this.baseUrl}/${path.split('/')[1] ?? 'v1.0'}/$metadata#${type ?? 'directoryObjects'}`,
    };
    if (offset === 0 && c.query.get('$count') === 'true') body['@odata.count'] = rows.length;
    if (offset + size < rows.length) {
      const q = new URLSearchParams(c.query);
      q.delete('$skiptoken');
      q.set('$skiptoken', `RFNwdAIAAQ${Buffer.from(`${offset + size}|${path}`).toString('base64url')}`);
      body['@odata.nextLink'] = `${this.baseUrl}${path}?${q.toString().replace(/%24/g, '$')}`;
    }
    body['value'] = value;
    return { status: 200, body };
  }

  /**
   * $select → projection. With a typed listing, a property the type lacks is a 400 (returned
   * as the message string), checked against a sample object of that type.
   */
  private selector(
    c: Call,
    type: string | undefined,
    sample: Record<string, unknown> | undefined,
  ): ((o: Record<string, unknown>) => Record<string, unknown>) | string {
    const raw = c.query.get('$select');
    if (!raw) return (o) => (type ? withoutType(o) : o);
    const props = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = type && sample ? props.find((p) => !(p in sample)) : undefined;
    if (bad !== undefined) return `Could not find a property named '${bad}' on type '${type ?? ''}'.`;
    return (o) => {
      const out: Record<string, unknown> = type ? {} : { '@odata.type': o['@odata.type'] };
      for (const p of props) if (p in o) out[p] = o[p];
      return out;
    };
  }

  private selectOne(c: Call, o: Record<string, unknown>, type: string): Result {
    const sel = this.selector(c, type, o);
    return typeof sel === 'string' ? gerr(400, 'BadRequest', sel) : { status: 200, body: sel(o) };
  }

  private managedDevice(i: number): Record<string, unknown> {
    const f = this.fleet;
    const mac = f.os(i) === 'macos';
    const u = `engineer${i + 1}@acme.example`;
    return {
      id: f.managedDeviceId(i),
      userId: null,
      deviceName: f.mdmName(i),
      managedDeviceOwnerType: 'company',
      enrolledDateTime: iso(this.created),
      lastSyncDateTime: iso(f.lastSync(i)),
      operatingSystem: mac ? 'macOS' : 'Windows',
      complianceState: 'compliant',
      jailBroken: 'Unknown',
      managementAgent: 'mdm',
      osVersion: mac ? '15.5 (24F74)' : '10.0.26100.4349',
      azureADRegistered: true,
      deviceEnrollmentType: mac ? 'appleBulkWithUser' : 'windowsAzureADJoin',
      emailAddress: u,
      azureADDeviceId: f.entraDeviceId(i),
      deviceRegistrationState: 'registered',
      isEncrypted: true,
      userPrincipalName: u,
      model: mac ? 'MacBook Pro' : 'Latitude 7450',
      manufacturer: mac ? 'Apple' : 'Dell Inc.',
      serialNumber: f.serial(i),
      managementState: 'managed',
      userDisplayName: `Engineer ${i + 1}`,
    };
  }

  // ---- writes -----------------------------------------------------------------------------
  private throttle(budget: Budget): Result | undefined {
    const wait = budget.take(Date.now());
    if (wait === 0) return undefined;
    this.nThrottled++;
    const headers: Record<string, string> = {};
    if (this.cfg.rng.next() >= this.cfg.retryAfterMissingRate)
      headers['Retry-After'] = String(Math.max(1, Math.ceil(wait / 1000)));
    return gerr(
      429,
      'TooManyRequests',
      'Too many requests from this app within the tenant. Please retry later.',
      headers,
    );
  }

  /**
   * syncDevice: an MDM check-in. It does not make the IME fetch the remediation (memdocs
   * remediations.md, "Client policy retrieval": restart, sign-in, every 8 hours), so a Windows
   * device syncs but neither runs its scripts nor changes its run state.
   */
  private sync(i: number): Result {
    const t = this.throttle(this.devBudget);
    if (t) return t;
    this.nWrites++;
    this.syncCount[i] = (this.syncCount[i] ?? 0) + 1;
    this.fleet.refresh(i);
    return { status: 204 };
  }

  /**
   * Beta `initiateOnDemandProactiveRemediation` `{scriptPolicyId}` (the "Run remediation" device
   * action): `scriptPolicyId` is a required Edm.String (msgraph-metadata schemas/beta-Prod.csdl);
   * success is 204 No Content
   * (api-reference/beta/api/intune-devices-manageddevice-initiateondemandproactiveremediation.md).
   * A device write on the devices budget, like syncDevice. The remediation need not be assigned
   * to the device, but it must exist; the action is for Windows devices (memdocs remediations.md,
   * "Run a remediation script on-demand"). The answers for an unknown script (404) and a
   * non-Windows device (400) are this simulator's choice: the docs name none.
   */
  private remediateOnDemand(i: number, c: Call): Result {
    const id = isRecord(c.body) ? c.body['scriptPolicyId'] : undefined;
    if (typeof id !== 'string' || id === '')
      return gerr(
        400,
        'BadRequest',
        "The parameter 'scriptPolicyId' in the request payload is not a valid parameter for the operation 'initiateOnDemandProactiveRemediation'.",
      );
    if (id !== this.cfg.remediationId) return gerr(404, 'ResourceNotFound', `deviceHealthScript ${id} not found`);
    if (this.fleet.os(i) !== 'windows')
      return gerr(400, 'BadRequest', 'On-demand remediation is supported on Windows devices only.');
    const t = this.throttle(this.devBudget);
    if (t) return t;
    this.nWrites++;
    this.onDemandCount[i] = (this.onDemandCount[i] ?? 0) + 1;
    this.ime.onDemand(i);
    return { status: 204 };
  }

  /** Graph rejects properties the type does not have; read-only ones sent back are tolerated. */
  private badProps(body: unknown, allowed: string[], type: string): Result | undefined {
    if (!isRecord(body)) return gerr(400, 'BadRequest', 'Empty Payload. JSON content expected.');
    const bad = Object.keys(body).find((k) => !allowed.includes(k) && !READ_ONLY.includes(k) && k !== '@odata.type');
    return bad === undefined
      ? undefined
      : gerr(400, 'BadRequest', `Property '${bad}' does not exist on type '${type.slice(1)}'.`);
  }

  private patchConfig(c: Call): Result {
    const bad = this.badProps(
      c.body,
      ['displayName', 'description', 'payloadName', 'payloadFileName', 'payload', 'deploymentChannel'],
      CFG_TYPE,
    );
    if (bad || !isRecord(c.body)) return bad ?? gerr(400, 'BadRequest', 'Empty Payload.');
    const body = c.body;
    if (body['@odata.type'] !== CFG_TYPE)
      return gerr(400, 'BadRequest', `The @odata.type annotation is required and must be '${CFG_TYPE}'.`);
    if ('payloadName' in body && (typeof body['payloadName'] !== 'string' || body['payloadName'] === ''))
      return gerr(400, 'BadRequest', 'payloadName must be a non-empty string.');
    const cur = this.configs.at(-1) as ContentVersion;
    let content = cur.content;
    if ('payload' in body) {
      const text = typeof body['payload'] === 'string' ? fromB64(body['payload']) : undefined;
      const id = text === undefined ? undefined : topIdentity(text);
      if (text === undefined || !id)
        return gerr(400, 'BadRequest', 'The payload is not a valid base64-encoded configuration profile.');
      const was = topIdentity(cur.content);
      if (was && (was.uuid !== id.uuid || was.identifier !== id.identifier)) this.ghosts++;
      content = text;
    }
    const t = this.throttle(this.cfgBudget);
    if (t) return t;
    this.nConfigWrites++;
    this.configs.push({ version: cur.version + 1, at: new Date(), content, base64: b64(content), source: 'api' });
    if (this.fleet.adoptOnProfileUpdate)
      for (const i of this.groupMembers()) if (this.fleet.os(i) === 'macos') this.fleet.refresh(i);
    return { status: 204 };
  }

  /**
   * PATCH of a remediation: either script, or both, in one request. Nothing reaches a device
   * here: the IME fetches the new scripts at its next retrieval (sim/remediation.ts).
   */
  private patchScript(c: Call): Result {
    const bad = this.badProps(
      c.body,
      [
        'displayName',
        'description',
        'publisher',
        'detectionScriptContent',
        'remediationScriptContent',
        'runAsAccount',
        'enforceSignatureCheck',
        'runAs32Bit',
        'detectionScriptParameters',
        'remediationScriptParameters',
        'deviceHealthScriptType',
      ],
      SCRIPT_TYPE,
    );
    if (bad || !isRecord(c.body)) return bad ?? gerr(400, 'BadRequest', 'Empty Payload.');
    const body = c.body;
    if ('@odata.type' in body && body['@odata.type'] !== SCRIPT_TYPE)
      return gerr(400, 'BadRequest', `Invalid @odata.type '${String(body['@odata.type'])}'.`);
    const texts: Partial<Record<'remediationScriptContent' | 'detectionScriptContent', string>> = {};
    for (const field of ['remediationScriptContent', 'detectionScriptContent'] as const) {
      if (!(field in body)) continue;
      const text = typeof body[field] === 'string' ? fromB64(body[field]) : undefined;
      if (text === undefined) return gerr(400, 'BadRequest', `${field} must be base64.`);
      texts[field] = text;
    }
    const t = this.throttle(this.devBudget);
    if (t) return t;
    this.nWrites++;
    this.scriptVersion++;
    const at = new Date();
    const push = (list: ContentVersion[], content: string): void =>
      void list.push({ version: (list.at(-1)?.version ?? 0) + 1, at, content, base64: b64(content), source: 'api' });
    if (texts.remediationScriptContent !== undefined) push(this.scripts, texts.remediationScriptContent);
    if (texts.detectionScriptContent !== undefined) push(this.detections, texts.detectionScriptContent);
    if (this.fleet.adoptOnProfileUpdate)
      for (const i of this.groupMembers()) if (this.fleet.os(i) === 'windows') this.ime.onDemand(i);
    return { status: 204 };
  }

  private configJson(ver: string): Record<string, unknown> {
    const v = this.configs.at(-1) as ContentVersion;
    return {
      '@odata.context': `${this.baseUrl}/${ver}/$metadata#deviceManagement/deviceConfigurations/$entity`,
      '@odata.type': CFG_TYPE,
      id: this.cfg.macosConfigurationId,
      lastModifiedDateTime: v.at.toISOString(),
      roleScopeTagIds: ['0'],
      supportsScopeTags: true,
      createdDateTime: iso(this.created),
      description: 'Thoth runtime API key (managed by CorpSec automation)',
      displayName: 'Thoth MCP Proxy Runtime (macOS)',
      version: v.version,
      payloadName: 'Thoth MCP Proxy Runtime',
      payloadFileName: 'thoth-runtime.mobileconfig',
      payload: v.base64,
    };
  }

  private scriptJson(): Record<string, unknown> {
    const v = this.scripts.at(-1) as ContentVersion;
    const d = this.detections.at(-1) as ContentVersion;
    return {
      '@odata.context': `${this.baseUrl}/beta/$metadata#deviceManagement/deviceHealthScripts/$entity`,
      '@odata.type': SCRIPT_TYPE,
      id: this.cfg.remediationId,
      publisher: 'Acme CorpSec',
      version: String(this.scriptVersion),
      displayName: 'Thoth MCP Proxy runtime key',
      description: 'Writes the Thoth runtime API key; detection emits thoth health --json',
      detectionScriptContent: d.base64,
      remediationScriptContent: v.base64,
      createdDateTime: iso(this.created),
      lastModifiedDateTime: new Date(Math.max(v.at.getTime(), d.at.getTime())).toISOString(),
      runAsAccount: 'system',
      enforceSignatureCheck: false,
      runAs32Bit: false,
      roleScopeTagIds: ['0'],
      isGlobalScript: false,
      highestAvailableVersion: null,
      deviceHealthScriptType: 'deviceHealthScript',
      detectionScriptParameters: [],
      remediationScriptParameters: [],
    };
  }

  /** One row per device that reported a run (beta deviceHealthScriptDeviceState), as its last run left it. */
  private runStates(ver: string, c: Call): Result {
    const rows = this.groupMembers().filter((i) => this.ime.state(i) !== undefined);
    const expand = /managedDevice/.test(c.query.get('$expand') ?? '');
    return this.page(
      c,
      rows,
      this.cfg.devicesPageSize,
      1000,
      `/${ver}/deviceManagement/deviceHealthScripts/${this.cfg.remediationId}/deviceRunStates`,
      (i) => {
        const f = this.fleet;
        const s = this.ime.state(i) as RunState;
        const row: Record<string, unknown> = {
          '@odata.type': '#microsoft.graph.deviceHealthScriptDeviceState',
          id: `${this.cfg.remediationId}:${f.managedDeviceId(i)}`,
          detectionState: s.detectionState,
          lastStateUpdateDateTime: iso(s.at),
          expectedStateUpdateDateTime: null,
          lastSyncDateTime: iso(s.syncAt),
          preRemediationDetectionScriptOutput: s.pre,
          preRemediationDetectionScriptError: s.preError,
          remediationScriptError: null,
          postRemediationDetectionScriptOutput: s.post,
          postRemediationDetectionScriptError: s.postError,
          remediationState: s.remediationState,
          assignmentFilterIds: [],
        };
        if (expand) row['managedDevice'] = { id: f.managedDeviceId(i) };
        return row;
      },
      undefined,
    );
  }

  /** Stops the IME's schedule (simulators closing). */
  stop(): void {
    this.ime.stop();
  }
}

function withoutType(o: Record<string, unknown>): Record<string, unknown> {
  const { '@odata.type': _t, ...rest } = o;
  return rest;
}

export function graphMutation(req: SimRequest): boolean {
  if (req.method === 'PATCH') return true;
  if (
    req.method === 'POST' &&
    /\/managedDevices\/[^/]+\/(syncDevice|initiateOnDemandProactiveRemediation)\/?$/.test(req.path)
  )
    return true;
  if (req.method === 'POST' && /\/\$batch\/?$/.test(req.path)) {
    try {
      const b = JSON.parse(req.text) as { requests?: { method?: unknown }[] };
      return (b.requests ?? []).some(
        (r) => String(r.method).toUpperCase() === 'POST' || String(r.method).toUpperCase() === 'PATCH',
      );
    } catch {
      return false;
    }
  }
  return false;
}
