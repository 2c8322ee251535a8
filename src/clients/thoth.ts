import { z } from 'zod';
import { ResponseShapeError } from '../errors.js';
import { HttpClient, seg } from '../http/client.js';
import { wasStreamed } from '../http/json-stream.js';
import { asRecord } from '../json-value.js';
import type { RetryPolicy } from '../http/retry.js';
import { registerSecret } from '../secrets.js';
import { SecretValue } from '../secret-value.js';
import { USER_AGENT, VERSION } from '../version.js';
import type { Permission } from '../intent/types.js';

/** Control-plane calls of spec control-plane.md; the orchestrator sees only this. */
export interface ThothApi {
  getFleet(fleetId: string): Promise<Fleet | undefined>;
  listKeys(): Promise<ApiKey[]>;
  /** Never retried, not even after a 429: a repeated create can mint a second key. The plaintext is masked before return. */
  createKey(p: CreateKeyParams): Promise<CreatedKey>;
  authorize(p: AuthorizeParams): Promise<AuthorizeResult>;
  /** `already-gone` for 404 (the provider client treats it as success). */
  revokeKey(keyId: string): Promise<'revoked' | 'already-gone'>;
  listEndpoints(fleetId: string): Promise<ThothEndpoint[]>;
  close(): Promise<void>;
}

export interface ThothClientParams {
  readonly baseUrl: string;
  readonly tenant: string;
  readonly credential: { readonly kind: 'api-key' | 'bearer'; readonly value: string };
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
}

const FleetSchema = z.looseObject({
  fleet_id: z.string(),
  name: z.string().optional(),
  region: z.string().optional(),
  status: z.string().optional(),
  endpoint_count: z.number().optional(),
});
const KeyRowSchema = z.looseObject({
  key_id: z.string(),
  name: z.string().nullish(),
  prefix: z.string().nullish(),
  scope_level: z.string().nullish(),
  scope_target_id: z.string().nullish(),
  permissions: z.array(z.string()).nullish(),
  created_at: z.string().nullish(),
  expires_at: z.string().nullish(),
  last_used_at: z.string().nullish(),
  active: z.boolean().nullish(),
});
const CreatedSchema = z.looseObject({
  key_id: z.string().min(1),
  name: z.string().nullish(),
  api_key: z.string().min(8),
  prefix: z.string().nullish(),
  created_at: z.string().nullish(),
  expires_at: z.string().nullish(),
});
const AuthorizeSchema = z.looseObject({
  valid: z.boolean(),
  permission_allowed: z.boolean(),
  scope_allowed: z.boolean(),
  expired: z.boolean().nullish(),
  scope_level: z.string().nullish(),
  scope_target_id: z.string().nullish(),
  validated_at: z.string().nullish(),
});

export type Fleet = z.infer<typeof FleetSchema>;
type ApiKeyRow = z.infer<typeof KeyRowSchema>;
/**
 * One key of `GET api-keys`, as the rest of the action sees it: the control plane's row
 * (`key_id`, `scope_level`, `active`…) stays in this file.
 */
export interface ApiKey {
  readonly keyId: string;
  /** The name it was created with: this action's keys say who minted them (runbook/key-name.ts). */
  readonly name?: string | undefined;
  readonly prefix?: string | undefined;
  /** `fleet`, `endpoint`, `organization`, `agent`… as the control plane lists it. */
  readonly scopeLevel?: string | undefined;
  readonly scopeTargetId?: string | undefined;
  readonly createdAt?: string | undefined;
  readonly expiresAt?: string | undefined;
  /** The control plane accepts the key: a row says `active: false` once it is revoked or expired. */
  readonly active: boolean;
}

function apiKey(r: ApiKeyRow): ApiKey {
  return {
    keyId: r.key_id,
    active: r.active !== false,
    ...(r.name != null ? { name: r.name } : {}),
    ...(r.prefix != null ? { prefix: r.prefix } : {}),
    ...(r.scope_level != null ? { scopeLevel: r.scope_level } : {}),
    ...(r.scope_target_id != null ? { scopeTargetId: r.scope_target_id } : {}),
    ...(r.created_at != null ? { createdAt: r.created_at } : {}),
    ...(r.expires_at != null ? { expiresAt: r.expires_at } : {}),
  };
}
export type AuthorizeRaw = z.infer<typeof AuthorizeSchema>;
/**
 * One endpoint of `GET endpoints`, reduced as it arrives to the fields the action uses: a
 * listing can hold 50,000 rows and is read on every validation poll.
 */
export interface ThothEndpoint {
  readonly endpointId: string;
  /** `hostname`, or the endpoint id when the control plane has none. */
  readonly hostname: string;
  readonly fleetId?: string;
  /** `managed_runtime_key_id` */
  readonly keyId?: string;
  /** `last_seen` (last heartbeat), epoch ms; absent when missing or not a date. */
  readonly lastSeen?: number;
}

export interface CreateKeyParams {
  readonly scopeLevel: 'fleet' | 'endpoint';
  readonly scopeTargetId: string;
  readonly permissions: readonly Permission[];
  readonly name: string;
  readonly ttlSeconds?: number;
  readonly jitReason?: string;
}
export interface CreatedKey {
  readonly keyId: string;
  readonly apiKey: SecretValue;
  readonly prefix?: string;
  readonly expiresAt?: string;
}
export interface AuthorizeParams {
  readonly keyId: string;
  readonly apiKey: SecretValue;
  readonly permission: Permission;
  readonly resourceType: 'fleet' | 'endpoint';
  readonly resourceId: string;
}
export interface AuthorizeResult extends AuthorizeRaw {
  /** valid && permission_allowed && scope_allowed && !expired (computed client-side, as the provider does). */
  readonly authorized: boolean;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, call: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    // Name the fields, never echo values: a response may carry key material.
    const fields = r.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new ResponseShapeError('thoth', call, `missing or malformed field(s): ${fields}`);
  }
  return r.data;
}

function describeError(_status: number, text: string): { code?: string; message: string } {
  try {
    const b = JSON.parse(text) as Record<string, unknown>;
    const code = typeof b['error'] === 'string' ? b['error'] : undefined;
    const msg = [b['message'], b['error_description'], b['detail']].find((v) => typeof v === 'string') as
      | string
      | undefined;
    return { ...(code ? { code } : {}), message: msg ?? '' };
  } catch {
    return { message: '' };
  }
}

class ThothClient implements ThothApi {
  readonly #http: HttpClient;
  readonly #t: string;
  readonly #interned = new Interner();
  /** Per fleet, the last listing's rows by endpoint id (see readEndpoint). */
  readonly #previousRows = new Map<string, Map<string, ThothEndpoint>>();

  constructor(p: ThothClientParams) {
    this.#t = `/${seg(p.tenant)}/thoth`;
    const credential = p.credential;
    this.#http = new HttpClient({
      system: 'thoth',
      baseUrl: p.baseUrl,
      userAgent: USER_AGENT,
      timeoutMs: p.timeoutMs ?? 30_000,
      ...(p.retry ? { retry: p.retry } : {}),
      describeError,
      auth: {
        headers: async () => ({
          ...(credential.kind === 'api-key'
            ? { 'x-api-key': credential.value }
            : { authorization: `Bearer ${credential.value}` }),
          accept: 'application/json',
          // Attribution the provider sends so GovAPI can tell who changed what (reference/thoth.md §1.3).
          'x-aten-provisioned-via': 'github-action',
          'x-aten-provisioner': 'thoth-rotate',
          'x-aten-provisioner-version': VERSION,
        }),
      },
    });
  }

  async getFleet(fleetId: string): Promise<Fleet | undefined> {
    const res = await this.#http.send({ method: 'GET', path: `${this.#t}/fleets/${seg(fleetId)}`, okStatuses: [404] });
    if (res.status === 404) return undefined;
    return parse(FleetSchema, safeJson(res.text), 'GET fleet');
  }

  async listKeys(): Promise<ApiKey[]> {
    const body = await this.#http.json({ method: 'GET', path: `${this.#t}/api-keys` });
    return parse(z.looseObject({ api_keys: z.array(KeyRowSchema) }), body, 'GET api-keys').api_keys.map(apiKey);
  }

  async createKey(p: CreateKeyParams): Promise<CreatedKey> {
    const res = await this.#http.send({
      method: 'POST',
      path: `${this.#t}/api-keys`,
      // Never repeated, not even after a 429 (spec control-plane.md): a repeat can mint a second key.
      retry: false,
      body: JSON.stringify({
        scope_level: p.scopeLevel,
        scope_target_id: p.scopeTargetId,
        permissions: p.permissions,
        name: p.name,
        ...(p.ttlSeconds !== undefined ? { ttl_seconds: p.ttlSeconds } : {}),
        ...(p.jitReason !== undefined ? { jit_reason: p.jitReason } : {}),
      }),
    });
    const raw = safeJson(res.text) as Record<string, unknown> | undefined;
    // Mask before anything else can touch the value, including a shape error below.
    if (raw && typeof raw['api_key'] === 'string') registerSecret(raw['api_key']);
    const body = parse(CreatedSchema, raw, 'POST api-keys');
    return {
      keyId: body.key_id,
      apiKey: new SecretValue(body.api_key),
      ...(body.prefix ? { prefix: body.prefix } : {}),
      ...(body.expires_at ? { expiresAt: body.expires_at } : {}),
    };
  }

  async authorize(p: AuthorizeParams): Promise<AuthorizeResult> {
    const body = await this.#http.json({
      method: 'POST',
      path: `${this.#t}/api-keys/${seg(p.keyId)}/authorize`,
      body: JSON.stringify({
        api_key: p.apiKey.reveal(),
        permission: p.permission,
        resource_type: p.resourceType,
        resource_id: p.resourceId,
      }),
    });
    const r = parse(AuthorizeSchema, body, 'POST authorize');
    return { ...r, authorized: r.valid && r.permission_allowed && r.scope_allowed && !r.expired };
  }

  async revokeKey(keyId: string): Promise<'revoked' | 'already-gone'> {
    const res = await this.#http.send({
      method: 'DELETE',
      path: `${this.#t}/api-keys/${seg(keyId)}`,
      okStatuses: [404],
    });
    return res.status === 404 ? 'already-gone' : 'revoked';
  }

  async listEndpoints(fleetId: string): Promise<ThothEndpoint[]> {
    // Unpaged and unfiltered (the API offers neither): streamed row by row, see json-stream.ts.
    const previous = this.#previousRows.get(fleetId) ?? new Map<string, ThothEndpoint>();
    const r = await this.#http.jsonArrays(
      { method: 'GET', path: `${this.#t}/endpoints?fleet_id=${seg(fleetId)}` },
      ['data'],
      (raw, _array, row) => readEndpoint(raw, row, this.#interned, previous),
    );
    if (!wasStreamed(r.rest, 'data'))
      throw new ResponseShapeError('thoth', 'GET endpoints', 'missing or malformed field(s): data');
    // Forget endpoints that left the fleet (and rows of an attempt that was cut off and retried).
    if (previous.size > r.items.length) {
      previous.clear();
      for (const e of r.items) previous.set(e.endpointId, e);
    }
    this.#previousRows.set(fleetId, previous);
    return r.items;
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}

const optionalText = (v: unknown, field: string, row: number): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw new ResponseShapeError('thoth', 'GET endpoints', `missing or malformed field(s): data.${row}.${field}`);
  return v;
};

/**
 * One copy of each key id and fleet id: 50,000 rows name a handful of keys, and keeping each
 * row's own copy would keep 50,000 strings alive per poll.
 */
class Interner {
  readonly #seen = new Map<string, string>();
  get(v: string | undefined): string | undefined {
    if (v === undefined) return undefined;
    const known = this.#seen.get(v);
    if (known !== undefined) return known;
    if (this.#seen.size < 10_000) this.#seen.set(v, v);
    return v;
  }
}

/**
 * The fields of one listing row the action uses; a shape error names the field, never a value.
 * A row unchanged since the previous listing is answered with the previous object: between
 * two polls most endpoints did not check in, and keeping 50,000 fresh copies alive through
 * every poll is most of what a poll costs in memory.
 */
function readEndpoint(
  raw: unknown,
  row: number,
  interned: Interner,
  previous: Map<string, ThothEndpoint>,
): ThothEndpoint {
  const r = asRecord(raw);
  const endpointId = r?.['endpoint_id'];
  if (!r || typeof endpointId !== 'string')
    throw new ResponseShapeError('thoth', 'GET endpoints', `missing or malformed field(s): data.${row}.endpoint_id`);
  const hostname = optionalText(r['hostname'], 'hostname', row) ?? endpointId;
  const fleetId = interned.get(optionalText(r['fleet_id'], 'fleet_id', row));
  const keyId = interned.get(optionalText(r['managed_runtime_key_id'], 'managed_runtime_key_id', row)) || undefined;
  const seenMs = Date.parse(optionalText(r['last_seen'], 'last_seen', row) ?? '');
  const before = previous.get(endpointId);
  if (
    before &&
    before.hostname === hostname &&
    before.fleetId === fleetId &&
    before.keyId === keyId &&
    (before.lastSeen === undefined ? Number.isNaN(seenMs) : before.lastSeen === seenMs)
  )
    return before;
  // A row whose heartbeat moved keeps the previous row's strings: the parsed copies die young.
  const e: { -readonly [K in keyof ThothEndpoint]: ThothEndpoint[K] } = {
    endpointId: before?.endpointId ?? endpointId,
    hostname: before?.hostname === hostname ? before.hostname : hostname,
  };
  if (fleetId !== undefined) e.fleetId = fleetId;
  if (keyId !== undefined) e.keyId = keyId;
  if (!Number.isNaN(seenMs)) e.lastSeen = seenMs;
  previous.set(endpointId, e);
  return e;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createThothClient(p: ThothClientParams): ThothApi {
  return new ThothClient(p);
}
