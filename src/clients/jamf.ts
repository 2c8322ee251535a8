import { z } from 'zod';
import { ResponseShapeError } from '../errors.js';
import { HttpClient, seg } from '../http/client.js';
import type { RetryPolicy } from '../http/retry.js';
import { buildJamfProfileUpdate, parseClassicErrorPage, parseComputerGroup, parseJamfProfile, type JamfProfile } from '../mdm/jamf-profile-xml.js';
import { USER_AGENT } from '../version.js';
import { ClientCredentialsToken } from './oauth.js';

/** Jamf Pro calls of spec mdm.md (Classic for profiles and static groups, Jamf Pro API for the rest). */
export interface JamfApi {
  getProfile(profileId: number): Promise<JamfProfile>;
  /** PUT general/payloads with redeploy_on_update=All (sends InstallProfile to every scoped computer). */
  putProfilePayloads(profileId: number, payloads: string): Promise<void>;
  /** Smart group membership, falling back to the Classic group for static groups. */
  groupMembers(groupId: number): Promise<number[]>;
  /** Inventory (GENERAL + EXTENSION_ATTRIBUTES) of exactly these computer ids. */
  inventory(ids: readonly number[]): Promise<JamfComputer[]>;
  /** Returns the management ids Jamf could not queue. */
  blankPush(managementIds: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

export interface JamfClientParams {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  readonly pageSize?: number;
}

const ComputerSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String),
  general: z.looseObject({
    name: z.string().nullish(),
    managementId: z.string().nullish(),
    lastContact: z.string().nullish(),
    lastCheckIn: z.string().nullish(),
    lastContactTime: z.string().nullish(),
  }).nullish(),
  extensionAttributes: z.array(z.looseObject({ name: z.string().nullish(), values: z.array(z.string()).nullish() })).nullish(),
});
export type JamfComputer = z.infer<typeof ComputerSchema>;
const InventoryPage = z.looseObject({ totalCount: z.number(), results: z.array(ComputerSchema) });

/** Jamf asks API clients for at most 5 concurrent connections (scalability best practices). */
export const JAMF_MAX_CONNECTIONS = 5;
/** Ids per `id=in=(…)` filter: keeps the request line well under common 8 KiB limits. */
export const JAMF_IDS_PER_FILTER = 500;

function describeError(_status: number, text: string, contentType: string): { code?: string; message: string } {
  if (/html/i.test(contentType) || text.trimStart().startsWith('<')) return { message: parseClassicErrorPage(text) };
  try {
    const b = JSON.parse(text) as { errors?: { code?: string; description?: string }[] };
    const first = b.errors?.[0];
    return { ...(first?.code ? { code: first.code } : {}), message: first?.description ?? '' };
  } catch {
    return { message: '' };
  }
}

class JamfClient implements JamfApi {
  readonly #http: HttpClient;
  readonly #token: ClientCredentialsToken;
  readonly #pageSize: number;

  constructor(p: JamfClientParams) {
    this.#pageSize = p.pageSize ?? 500;
    this.#token = new ClientCredentialsToken('jamf', p.url, USER_AGENT, {
      tokenPath: '/api/v1/oauth/token',
      form: { grant_type: 'client_credentials', client_id: p.clientId, client_secret: p.clientSecret },
    });
    this.#http = new HttpClient({
      system: 'jamf',
      baseUrl: p.url,
      userAgent: USER_AGENT,
      maxConnections: JAMF_MAX_CONNECTIONS,
      timeoutMs: p.timeoutMs ?? 60_000,
      ...(p.retry ? { retry: p.retry } : {}),
      auth: this.#token,
      // Jamf Cloud is clustered: a read right after a write must hit the same node.
      stickyCookies: ['jpro-ingress', 'APBALANCEID', 'JSESSIONID'],
      describeError,
    });
  }

  async getProfile(profileId: number): Promise<JamfProfile> {
    const res = await this.#http.send({ method: 'GET', path: `/JSSResource/osxconfigurationprofiles/id/${seg(profileId)}`, headers: { accept: 'application/xml' } });
    return parseJamfProfile(res.text);
  }

  async putProfilePayloads(profileId: number, payloads: string): Promise<void> {
    await this.#http.send({
      method: 'PUT',
      path: `/JSSResource/osxconfigurationprofiles/id/${seg(profileId)}`,
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
      body: buildJamfProfileUpdate(payloads),
    });
  }

  async groupMembers(groupId: number): Promise<number[]> {
    const res = await this.#http.send({ method: 'GET', path: `/api/v3/computer-groups/smart-group-membership/${seg(groupId)}`, headers: { accept: 'application/json' }, okStatuses: [404] });
    if (res.status !== 404) {
      const body = z.looseObject({ members: z.array(z.coerce.number().int()) }).safeParse(JSON.parse(res.text));
      if (!body.success) throw new ResponseShapeError('jamf', 'GET smart-group-membership', 'no members array');
      return body.data.members;
    }
    // 404 here means "not a smart group" as often as "no such group": ask Classic, which knows both.
    const classic = await this.#http.send({ method: 'GET', path: `/JSSResource/computergroups/id/${seg(groupId)}`, headers: { accept: 'application/xml' } });
    return parseComputerGroup(classic.text).computerIds;
  }

  async inventory(ids: readonly number[]): Promise<JamfComputer[]> {
    const chunks: number[][] = [];
    for (let i = 0; i < ids.length; i += JAMF_IDS_PER_FILTER) chunks.push(ids.slice(i, i + JAMF_IDS_PER_FILTER) as number[]);
    const pages = await Promise.all(chunks.map((chunk) => this.#inventoryFor(chunk)));
    return pages.flat();
  }

  async #inventoryFor(ids: number[]): Promise<JamfComputer[]> {
    const out: JamfComputer[] = [];
    const size = Math.max(this.#pageSize, Math.min(ids.length, 2000));
    for (let page = 0; ; page++) {
      const q = `section=GENERAL&section=EXTENSION_ATTRIBUTES&page=${page}&page-size=${size}&sort=id%3Aasc&filter=${encodeURIComponent(`id=in=(${ids.join(',')})`)}`;
      const body = await this.#http.json({ method: 'GET', path: `/api/v4/computers-inventory?${q}` });
      const r = InventoryPage.safeParse(body);
      if (!r.success) throw new ResponseShapeError('jamf', 'GET computers-inventory', 'no totalCount/results');
      out.push(...r.data.results);
      // Stop on the documented condition, and on an empty page so a lying totalCount cannot loop us.
      if (r.data.results.length === 0 || (page + 1) * size >= r.data.totalCount) return out;
    }
  }

  async blankPush(managementIds: readonly string[]): Promise<string[]> {
    const failed: string[] = [];
    for (let i = 0; i < managementIds.length; i += 1000) {
      const body = await this.#http.json({ method: 'POST', path: '/api/v2/mdm/blank-push', body: JSON.stringify({ clientManagementIds: managementIds.slice(i, i + 1000) }) });
      const r = z.looseObject({ errorUuids: z.array(z.string()).nullish() }).safeParse(body ?? {});
      if (r.success) failed.push(...(r.data.errorUuids ?? []));
    }
    return failed;
  }

  async close(): Promise<void> {
    // Hygiene: a disabled API client does not revoke issued tokens, so end ours explicitly.
    if (this.#token.current) {
      await this.#http.send({ method: 'POST', path: '/api/v1/auth/invalidate-token', retry: false }).catch(() => undefined);
    }
    await Promise.all([this.#http.close(), this.#token.close()]);
  }
}

export function createJamfClient(p: JamfClientParams): JamfApi {
  return new JamfClient(p);
}
