/**
 * Thoth control plane (GovAPI) simulator: the subset in spec/control-plane.md, shaped after
 * the public Terraform provider client (reference/thoth.md §2). Paths are /{tenant}/thoth/...
 */
import type { Fleet, KeyOracle } from './fleet.js';
import { bearer, json, parseJson, type Handler, type SimRequest, type SimResponse } from './http.js';
import { ALNUM, BASE32, iso, isRecord, type Rng } from './util.js';

export type ScopeLevel = 'organization' | 'fleet' | 'endpoint' | 'agent';
const SCOPES: readonly string[] = ['organization', 'fleet', 'endpoint', 'agent'];
const PERMISSIONS: readonly string[] = ['read', 'write', 'execute'];

interface KeyRecord {
  keyId: string;
  tenant: string;
  name: string;
  scopeLevel: ScopeLevel;
  scopeTargetId: string;
  permissions: string[];
  plaintext: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A key as tests see it: everything but the plaintext (use plaintextOf for leak scans). */
export interface KeyInfo {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  scope: ScopeLevel;
  target: string;
  permissions: string[];
  active: boolean;
  revokedAt: Date | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export interface CreateKeyInput {
  scopeLevel: ScopeLevel;
  scopeTargetId?: string;
  permissions: string[];
  name?: string;
  ttlSeconds?: number;
  /** Overrides ttlSeconds: e.g. a date in the past for an already-expired key. */
  expiresAt?: Date;
  tenant?: string;
}

export interface ThothConfig {
  tenant: string;
  fleetId: string;
  region: string;
  revokedKeys: 'inactive' | 'gone';
  /**
   * What endpoint rows say in `managed_runtime_key_id`, documented only as "server-managed
   * runtime API key ID (when applicable)" (reference/thoth.md §2.3): `reported` (the key the
   * proxy ran at its last heartbeat), `null` (every row: an MDM-delivered key the control plane
   * does not manage), or the share of endpoints (0..1, seeded) whose rows report it.
   */
  runtimeKeyId: RuntimeKeyId;
  seed: number;
  rng: Rng;
}

export type RuntimeKeyId = 'reported' | 'null' | number;

function err(status: number, error: string, message: string): SimResponse {
  return json(status, { error, message });
}

export class ThothState implements KeyOracle {
  readonly tenant: string;
  readonly region: string;
  readonly orgApiKey: string;
  readonly adminBearer: string;
  readonly fleetKeyId: string;
  readonly undeployedKeyId: string;
  readonly otherTenantKeyId: string;
  private readonly orgKeyId: string;
  private readonly keysById = new Map<string, KeyRecord>();
  private readonly cfg: ThothConfig;
  private fleetRef: Fleet | undefined;
  private readonly createdAt = Date.now() - 200 * 86_400_000;
  private readonly staticRows: string[] = [];

  constructor(cfg: ThothConfig) {
    this.cfg = cfg;
    this.tenant = cfg.tenant;
    this.region = cfg.region;
    const r = cfg.rng;
    this.adminBearer = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${r.chars(ALNUM, 48)}.${r.chars(ALNUM, 43)}`;
    const org = this.createKeyDirect({
      scopeLevel: 'organization',
      permissions: ['read', 'write', 'execute'],
      name: 'corpsec-automation',
      plaintextPrefix: 'thoth_org_',
    });
    this.orgKeyId = org.keyId;
    this.orgApiKey = org.apiKey;
    const fleetId = cfg.fleetId;
    this.fleetKeyId = this.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: fleetId,
      permissions: ['read', 'execute'],
      name: 'corpsec-fleet-runtime',
    }).keyId;
    this.undeployedKeyId = this.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: fleetId,
      permissions: ['read'],
      name: 'corpsec-fleet-canary',
    }).keyId;
    this.otherTenantKeyId = this.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: fleetId,
      permissions: ['read', 'execute'],
      name: 'globex-runtime',
      tenant: 'globex',
    }).keyId;
    // Pre-existing keys look old, not minted a millisecond ago.
    for (const k of this.keysById.values()) k.createdAt = this.createdAt;
  }

  /** @internal Keys exist before the fleet (the fleet starts on one of them). */
  bindFleet(fleet: Fleet): void {
    this.fleetRef = fleet;
  }
  private get fleet(): Fleet {
    if (!this.fleetRef) throw new Error('thoth sim: fleet not bound');
    return this.fleetRef;
  }

  // ---- test API -------------------------------------------------------------------------
  /**
   * Every key the sim holds (all tenants) except the org credential key, which is a login
   * rather than a rotation subject (GET api-keys over HTTP does list it, as GovAPI would).
   */
  keys(): KeyInfo[] {
    return [...this.keysById.values()].filter((k) => k.keyId !== this.orgKeyId).map((k) => this.info(k));
  }
  key(keyId: string): KeyInfo | undefined {
    const k = this.keysById.get(keyId);
    return k && this.info(k);
  }
  plaintextOf(keyId: string): string | undefined {
    return this.keysById.get(keyId)?.plaintext;
  }
  allPlaintexts(): string[] {
    return [...this.keysById.values()].map((k) => k.plaintext);
  }
  /** Endpoint rows exactly as GET endpoints returns them. */
  endpoints(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const now = Date.now();
    for (let i = 0; i < this.fleet.size; i++) out.push(this.endpointRow(i, now));
    return out;
  }
  createKeyDirect(input: CreateKeyInput & { plaintextPrefix?: string }): { keyId: string; apiKey: string } {
    const r = this.cfg.rng;
    const now = Date.now();
    const rec: KeyRecord = {
      keyId: `key_${r.chars(BASE32, 20)}`,
      tenant: input.tenant ?? this.tenant,
      name: input.name ?? `${input.scopeLevel}-${input.scopeTargetId ?? 'org'}`,
      scopeLevel: input.scopeLevel,
      scopeTargetId: input.scopeTargetId ?? '',
      permissions: [...input.permissions],
      plaintext: `${input.plaintextPrefix ?? 'thoth_live_'}${r.chars(ALNUM, 40)}`,
      createdAt: now,
      expiresAt: input.expiresAt ? input.expiresAt.getTime() : input.ttlSeconds ? now + input.ttlSeconds * 1000 : null,
      lastUsedAt: null,
      revokedAt: null,
    };
    this.keysById.set(rec.keyId, rec);
    return { keyId: rec.keyId, apiKey: rec.plaintext };
  }
  /**
   * Moves a key's `created_at` / `expires_at` (null: never expires): the recurring-rotation tests
   * let a key age by months without a clock that the action under test would have to obey.
   */
  setKeyTimes(keyId: string, t: { createdAt?: Date; expiresAt?: Date | null }): void {
    const k = this.keysById.get(keyId);
    if (!k) throw new Error(`thoth sim: no key ${keyId}`);
    if (t.createdAt) k.createdAt = t.createdAt.getTime();
    if (t.expiresAt !== undefined) k.expiresAt = t.expiresAt === null ? null : t.expiresAt.getTime();
  }
  /** Revokes without going through HTTP; false when unknown or already revoked. */
  revokeKey(keyId: string): boolean {
    const k = this.keysById.get(keyId);
    if (!k || k.revokedAt !== null) return false;
    k.revokedAt = Date.now();
    return true;
  }

  // ---- KeyOracle (used by endpoints at check-in) ----------------------------------------
  verify(keyId: string, apiKey: string): boolean {
    const k = this.keysById.get(keyId);
    return !!k && k.tenant === this.tenant && k.plaintext === apiKey && this.isActive(k);
  }
  status(keyId: string, at = Date.now()): { revoked: boolean; expired: boolean } {
    const k = this.keysById.get(keyId);
    return {
      revoked: !k || (k.revokedAt !== null && k.revokedAt <= at),
      expired: !!k && k.expiresAt !== null && at >= k.expiresAt,
    };
  }
  used(keyId: string, at: number): void {
    const k = this.keysById.get(keyId);
    if (k) k.lastUsedAt = at;
  }

  private isExpired(k: KeyRecord): boolean {
    return k.expiresAt !== null && Date.now() >= k.expiresAt;
  }
  private isActive(k: KeyRecord): boolean {
    return k.revokedAt === null && !this.isExpired(k);
  }
  private info(k: KeyRecord): KeyInfo {
    return {
      id: k.keyId,
      tenant: k.tenant,
      name: k.name,
      prefix: k.plaintext.slice(0, 16),
      scope: k.scopeLevel,
      target: k.scopeTargetId,
      permissions: [...k.permissions],
      active: this.isActive(k),
      revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt),
      createdAt: new Date(k.createdAt),
      expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt),
      lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt),
    };
  }
  private row(k: KeyRecord): Record<string, unknown> {
    return {
      key_id: k.keyId,
      name: k.name,
      prefix: k.plaintext.slice(0, 16),
      scope_level: k.scopeLevel,
      scope_target_id: k.scopeTargetId,
      permissions: [...k.permissions],
      created_at: iso(k.createdAt),
      expires_at: k.expiresAt === null ? null : iso(k.expiresAt),
      last_used_at: k.lastUsedAt === null ? null : iso(k.lastUsedAt),
      active: this.isActive(k),
    };
  }
  /**
   * One row of GET endpoints with every field the control plane documents (reference/thoth.md
   * §2.3: the register body's fields plus the read-only ones), not only those the action reads:
   * about 730 bytes, so the unpaged list of 50,000 endpoints is about 35 MiB. The fields that
   * never change are serialised once per endpoint; a listing appends the three that do.
   */
  private rowText(i: number, now: number): string {
    const f = this.fleet;
    const seen = f.lastSeen(i, now);
    const key = this.reportsRuntimeKey(i) ? f.reportedKeyId(i, now) || null : null;
    const status = now - seen < 7 * 86_400_000 ? 'active' : 'stale';
    return `${this.staticRow(i)},"status":"${status}","managed_runtime_key_id":${JSON.stringify(key)},"last_seen":"${iso(seen)}"}`;
  }
  private staticRow(i: number): string {
    let t = this.staticRows[i];
    if (t !== undefined) return t;
    const f = this.fleet;
    const person = employee(this.cfg.seed, i);
    const mac = f.os(i) === 'macos';
    const fixed = {
      endpoint_id: f.endpointId(i),
      hostname: f.hostname(i),
      employee_name: person.name,
      employee_email: person.email,
      department: person.department,
      os: f.os(i),
      os_version: mac ? MAC_VERSIONS[i % MAC_VERSIONS.length] : WIN_VERSIONS[i % WIN_VERSIONS.length],
      enrollment: f.mdm,
      enforcement_mode: 'enforce',
      environment: 'prod',
      proxy_version: '0.3.4',
      fleet_id: f.id,
      provider: f.mdm,
      risk_score: (i * 37) % 100,
      violations_today: i % 7 === 0 ? (i >> 3) % 4 : 0,
      sessions_today: (i * 13) % 40,
      agent_ids: AGENTS.slice(0, 2 + (i % 3)).map(
        (a, k) => `${a}_${((Math.imul(i + 1, 0x27d4eb2d) ^ (k * 0x165667b1)) >>> 0).toString(16).padStart(8, '0')}`,
      ),
      runtime_auth_mode: 'managed_key',
      identity_binding_user: person.email,
    };
    t = JSON.stringify(fixed).slice(0, -1);
    this.staticRows[i] = t;
    return t;
  }
  private endpointRow(i: number, now = Date.now()): Record<string, unknown> {
    return JSON.parse(this.rowText(i, now)) as Record<string, unknown>;
  }
  /** GET endpoints: the rows are text already, so the body is their concatenation. */
  private listing(fleetId: string | null): SimResponse {
    if (fleetId && fleetId !== this.fleet.id) return json(200, { data: [] });
    const now = Date.now();
    const rows: string[] = new Array<string>(this.fleet.size);
    for (let i = 0; i < this.fleet.size; i++) rows[i] = this.rowText(i, now);
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: `{"data":[${rows.join(',')}]}`,
    };
  }
  private reportsRuntimeKey(i: number): boolean {
    const r = this.cfg.runtimeKeyId;
    if (r === 'reported') return true;
    if (r === 'null') return false;
    return ((Math.imul(i + 1, 0x9e3779b1) ^ this.cfg.seed) >>> 0) % 10_000 < r * 10_000;
  }
  /** Thoth knows only the fleet's endpoints (MDM extras run no proxy). */
  private endpointIndex(id: string): number | undefined {
    const i = this.fleet.indexByEndpointId(id);
    return i !== undefined && i < this.fleet.size ? i : undefined;
  }
  private fleetRow(id: string): Record<string, unknown> | undefined {
    const f = this.fleet;
    if (id !== f.id) return undefined;
    return {
      fleet_id: id,
      name: 'CorpSec fleet',
      fleet_code: id.replace(/^flt-/, '').toUpperCase(),
      region: this.region,
      policy_id: 'pol-baseline',
      policy_name: 'Baseline',
      status: 'active',
      rollout_strategy: 'staged',
      rollout_pct: 100,
      drift_pct: 0,
      drifted_endpoint_count: 0,
      endpoint_count: f.size,
      compliance_pct: 100,
      provider: f.mdm,
      last_deployed_at: iso(this.createdAt),
      last_deployed_version: '0.3.4',
      created_at: iso(this.createdAt),
      updated_at: iso(this.createdAt),
    };
  }

  // ---- HTTP -----------------------------------------------------------------------------
  handler: Handler = (req) => this.route(req);

  private auth(req: SimRequest): SimResponse | undefined {
    const apiKey = req.header('x-api-key');
    const authz = req.header('authorization');
    if (apiKey !== undefined && authz !== undefined)
      return err(401, 'unauthorized', 'send exactly one of X-Api-Key or Authorization, not both');
    if (apiKey === undefined && authz === undefined) return err(401, 'unauthorized', 'missing credentials');
    if (authz !== undefined)
      return bearer(req) === this.adminBearer
        ? undefined
        : err(401, 'unauthorized', 'invalid or expired session token');
    const k = [...this.keysById.values()].find((x) => x.plaintext === apiKey);
    if (!k || !this.isActive(k)) return err(401, 'unauthorized', 'invalid API key');
    if (k.scopeLevel !== 'organization')
      return err(
        403,
        'forbidden',
        `API key scope ${k.scopeLevel} cannot call the control plane; an organization-scoped key is required`,
      );
    if (k.tenant !== this.tenant) return err(403, 'forbidden', 'API key belongs to another tenant');
    k.lastUsedAt = Date.now();
    return undefined;
  }

  private route(req: SimRequest): SimResponse {
    const m = /^\/([^/]+)\/thoth\/(.*)$/.exec(req.path);
    if (!m) return err(404, 'not_found', `no route for ${req.path}`);
    const denied = this.auth(req);
    if (denied) return denied;
    if (m[1] !== this.tenant) return err(403, 'forbidden', `credentials are not valid for tenant ${m[1] ?? ''}`);
    const rest = (m[2] ?? '').replace(/\/$/, '');
    const seg = rest.split('/');
    const method = req.method;
    if (seg[0] === 'fleets') {
      if (seg.length === 1 && method === 'GET') {
        return json(200, { data: [this.fleetRow(this.fleet.id)] });
      }
      if (seg.length === 2 && method === 'GET') {
        const row = this.fleetRow(seg[1] ?? '');
        return row ? json(200, row) : err(404, 'not_found', `fleet ${seg[1] ?? ''} not found`);
      }
    }
    if (seg[0] === 'api-keys') {
      if (seg.length === 1 && method === 'GET') {
        const rows = [...this.keysById.values()]
          .filter((k) => k.tenant === this.tenant && !(this.cfg.revokedKeys === 'gone' && k.revokedAt !== null))
          .map((k) => this.row(k));
        return json(200, { api_keys: rows });
      }
      if (seg.length === 1 && method === 'POST') return this.create(req);
      if (seg.length === 2 && method === 'DELETE') return this.revoke(seg[1] ?? '');
      if (seg.length === 3 && seg[2] === 'authorize' && method === 'POST') return this.authorize(seg[1] ?? '', req);
    }
    if (seg[0] === 'endpoints' && method === 'GET') {
      if (seg.length === 1) {
        return this.listing(req.query.get('fleet_id'));
      }
      if (seg.length === 2) {
        const i = this.endpointIndex(seg[1] ?? '');
        return i === undefined
          ? err(404, 'not_found', `endpoint ${seg[1] ?? ''} not found`)
          : json(200, this.endpointRow(i));
      }
    }
    return err(404, 'not_found', `no route for ${method} ${req.path}`);
  }

  private create(req: SimRequest): SimResponse {
    const b = parseJson(req);
    if (!isRecord(b)) return err(400, 'invalid_request', 'request body must be a JSON object');
    const scope = b['scope_level'];
    if (typeof scope !== 'string' || !SCOPES.includes(scope))
      return err(400, 'invalid_request', 'scope_level must be one of organization, fleet, endpoint, agent');
    const target = b['scope_target_id'];
    if (scope !== 'organization' && (typeof target !== 'string' || target === ''))
      return err(400, 'invalid_request', 'scope_target_id is required');
    const perms = b['permissions'];
    if (
      !Array.isArray(perms) ||
      perms.length === 0 ||
      !perms.every((p) => typeof p === 'string' && PERMISSIONS.includes(p))
    ) {
      return err(400, 'invalid_request', 'permissions must be a non-empty subset of read, write, execute');
    }
    const ttl = b['ttl_seconds'];
    if (ttl !== undefined && ttl !== null && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0)) {
      return err(400, 'invalid_request', 'ttl_seconds must be a positive integer');
    }
    const name = b['name'];
    if (name !== undefined && typeof name !== 'string') return err(400, 'invalid_request', 'name must be a string');
    const targetId = typeof target === 'string' ? target : '';
    if (scope === 'fleet' && !this.fleetRow(targetId))
      return err(400, 'invalid_request', `fleet does not exist: ${targetId}`);
    if (scope === 'endpoint' && this.endpointIndex(targetId) === undefined)
      return err(400, 'invalid_request', `endpoint does not exist: ${targetId}`);
    const input: CreateKeyInput = { scopeLevel: scope as ScopeLevel, permissions: [...new Set(perms as string[])] };
    if (scope !== 'organization') input.scopeTargetId = targetId;
    if (typeof name === 'string' && name !== '') input.name = name;
    if (typeof ttl === 'number') input.ttlSeconds = ttl;
    const { keyId } = this.createKeyDirect(input);
    for (const f of this.onCreate) f(keyId);
    const k = this.keysById.get(keyId);
    if (!k) return err(500, 'internal', 'key vanished');
    return json(201, {
      key_id: k.keyId,
      name: k.name,
      api_key: k.plaintext,
      prefix: k.plaintext.slice(0, 16),
      created_at: iso(k.createdAt),
      expires_at: k.expiresAt === null ? null : iso(k.expiresAt),
    });
  }

  /**
   * Test-oracle hooks (test/oracle): called on every DELETE before it takes effect, and on every
   * key minted over HTTP, so the oracle sees the fleet as it was at the moment of revocation.
   */
  readonly onDelete: ((keyId: string) => void)[] = [];
  readonly onCreate: ((keyId: string) => void)[] = [];

  private revoke(keyId: string): SimResponse {
    for (const f of this.onDelete) f(keyId);
    const k = this.keysById.get(keyId);
    if (!k || k.tenant !== this.tenant || k.revokedAt !== null)
      return err(404, 'not_found', `api key ${keyId} not found`);
    k.revokedAt = Date.now();
    return json(200, { key_id: keyId, revoked: true });
  }

  private authorize(keyId: string, req: SimRequest): SimResponse {
    const k = this.keysById.get(keyId);
    if (!k || k.tenant !== this.tenant || (this.cfg.revokedKeys === 'gone' && k.revokedAt !== null)) {
      return err(404, 'not_found', `api key ${keyId} not found`);
    }
    const b = parseJson(req);
    if (!isRecord(b)) return err(400, 'invalid_request', 'request body must be a JSON object');
    const { api_key: apiKey, permission, resource_type: rtype, resource_id: rid } = b;
    if (typeof apiKey !== 'string' || apiKey === '') return err(400, 'invalid_request', 'api_key is required');
    if (typeof permission !== 'string' || !PERMISSIONS.includes(permission))
      return err(400, 'invalid_request', 'permission must be one of read, write, execute');
    if (typeof rtype !== 'string' || !SCOPES.includes(rtype))
      return err(400, 'invalid_request', 'resource_type must be one of organization, fleet, endpoint, agent');
    if (rtype !== 'organization' && (typeof rid !== 'string' || rid === ''))
      return err(400, 'invalid_request', 'resource_id is required');
    const resourceId = typeof rid === 'string' ? rid : '';
    const valid = k.plaintext === apiKey && k.revokedAt === null;
    if (valid) k.lastUsedAt = Date.now();
    return json(200, {
      valid,
      permission_allowed: k.permissions.includes(permission),
      scope_allowed: this.scopeAllows(k, rtype, resourceId),
      expired: this.isExpired(k),
      scope_level: k.scopeLevel,
      scope_target_id: k.scopeTargetId,
      validated_at: iso(Date.now()),
    });
  }

  /** A key covers its own target; fleet keys also cover the fleet's endpoints, endpoint keys their fleet. */
  private scopeAllows(k: KeyRecord, rtype: string, rid: string): boolean {
    const epFleet = (id: string): string | undefined =>
      this.endpointIndex(id) === undefined ? undefined : this.fleet.id;
    switch (k.scopeLevel) {
      case 'organization':
        return true;
      case 'fleet':
        return (
          (rtype === 'fleet' && rid === k.scopeTargetId) || (rtype === 'endpoint' && epFleet(rid) === k.scopeTargetId)
        );
      case 'endpoint':
        return (
          (rtype === 'endpoint' && rid === k.scopeTargetId) || (rtype === 'fleet' && epFleet(k.scopeTargetId) === rid)
        );
      case 'agent':
        return rtype === 'agent' && rid === k.scopeTargetId;
    }
  }
}

/** Requests that change control-plane state (for RequestLog.mutations()). */
export function thothMutation(req: SimRequest): boolean {
  return (
    (req.method === 'POST' && /\/thoth\/api-keys\/?$/.test(req.path)) ||
    (req.method === 'DELETE' && /\/thoth\/api-keys\/[^/]+\/?$/.test(req.path))
  );
}

const FIRST = [
  'Avery',
  'Naomi',
  'Mateo',
  'Priya',
  'Jonas',
  'Amara',
  'Kenji',
  'Lucia',
  'Tobias',
  'Zainab',
  'Elliot',
  'Ingrid',
  'Rafael',
  'Sana',
  'Oliver',
  'Chiara',
];
const LAST = [
  'Okafor',
  'Lindqvist',
  'Fernandes',
  'Raghunathan',
  'Kowalczyk',
  'Haddad',
  'Nakamura',
  'Brennan',
  'Oyelaran',
  'Castellanos',
  'Virtanen',
  'Abernathy',
  'Delacroix',
  'Mbeki',
  'Sorensen',
  'Yamamoto',
];
const DEPARTMENTS = [
  'Platform Engineering',
  'Security Operations',
  'Data Science',
  'Finance and Accounting',
  'Customer Success',
  'Product Design',
  'Legal and Compliance',
  'Developer Relations',
];
const MAC_VERSIONS = ['15.5', '15.4.1', '14.7.6', '15.6'];
const WIN_VERSIONS = ['10.0.26100.4061', '10.0.22631.5335', '10.0.26100.3915'];
const AGENTS = ['agt_claude_desktop', 'agt_cursor', 'agt_copilot_cli', 'agt_windsurf'];

/** A stable, made-up employee per endpoint (the rows carry one: reference/thoth.md §2.3). */
function employee(seed: number, i: number): { name: string; email: string; department: string } {
  // >>> 0 after the xor too: a signed result would index the name lists with a negative number.
  const h = ((Math.imul(i + seed, 0x85ebca6b) >>> 0) ^ (i >>> 4)) >>> 0;
  const first = FIRST[h % FIRST.length]!;
  const last = LAST[(h >>> 4) % LAST.length]!;
  return {
    name: `${first} ${last}`,
    email: `${first}.${last}.${i}@corp.acme-corp.example`.toLowerCase(),
    department: DEPARTMENTS[(h >>> 8) % DEPARTMENTS.length]!,
  };
}
