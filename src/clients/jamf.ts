import { log } from '../log.js';
import { z } from 'zod';
import { HttpError, ResponseShapeError } from '../errors.js';
import { HttpClient, seg, type StreamedJson } from '../http/client.js';
import { wasStreamed } from '../http/json-stream.js';
import { asRecord } from '../json-value.js';
import type { RetryPolicy } from '../http/retry.js';
import {
  buildJamfProfileUpdate,
  parseClassicErrorPage,
  parseComputerGroup,
  parseJamfProfile,
  type JamfProfile,
} from './jamf-profile-xml.js';
import { USER_AGENT } from '../version.js';
import {
  jamfShapeFor,
  parseJamfVersion,
  unreadableJamfVersion,
  JamfVersionError,
  type JamfApiShape,
} from './jamf-versions.js';
import { ClientCredentialsToken } from './oauth.js';

/**
 * Jamf Pro calls of spec mdm.md (Classic for profiles and static groups, Jamf Pro API for the
 * rest), in the paths and field names of the server's own version (jamf-versions.ts): the
 * first call of a run reads `GET /api/v1/jamf-pro-version`, and every call, reads included,
 * waits for it, so an unsupported server stops the run before anything is written.
 */
export interface JamfApi {
  getProfile(profileId: number): Promise<JamfProfile>;
  /** PUT general/payloads with redeploy_on_update=All (sends InstallProfile to every scoped computer). */
  putProfilePayloads(profileId: number, payloads: string): Promise<void>;
  /** Smart group membership, falling back to the Classic group for static groups. */
  groupMembers(groupId: number): Promise<number[]>;
  /**
   * Inventory (GENERAL + EXTENSION_ATTRIBUTES) of exactly these computer ids, streamed: each
   * computer is turned into the caller's item by `toItem` as it arrives, so a 50,000-computer
   * read never holds a page, nor one computer longer than it takes to convert it. Items of a
   * page count only once the page has been read whole and checked.
   */
  inventory<T>(
    ids: readonly number[],
    attribute: string | undefined,
    toItem: (c: JamfComputer) => T,
    opts?: InventoryOptions,
  ): Promise<T[]>;
  /**
   * Wakes these computers: the Jamf Pro API push by management id, or on servers before 11.23
   * the Classic BlankPush command by computer id. Returns what Jamf could not queue (management
   * ids it named, or computer ids: without a management id, or in a refused Classic request).
   */
  blankPush(targets: readonly JamfPushTarget[]): Promise<string[]>;
  /** The server's version and the row of jamf-versions.ts it selected (reads it on first use). */
  apiShape(): Promise<{ version: string; shape: JamfApiShape }>;
  close(): Promise<void>;
}

export interface JamfPushTarget {
  /** Jamf computer id (Classic push). */
  readonly id: number;
  /** `general.managementId` (Jamf Pro API push); '' when inventory had none. */
  readonly managementId: string;
}

export interface InventoryOptions {
  /**
   * Only computers whose last contact (`general.lastContact`, v1–v3 `lastContactTime`) is at or
   * after this instant (RSQL, added to the id filter): a validation poll re-reads the
   * unconfirmed ids, and of those Jamf returns only the ones that contacted it since (the
   * poller counts from its read of the group), so a poll of 50,000 silent devices carries no
   * inventory at all. Whole seconds; a server that refuses the filter gets ids only (and
   * one that refuses the `reportedOnly` filter, this one for those ids).
   */
  readonly contactedSince?: Date;
  /**
   * Of `ids`, those the caller already knows checked in since `contactedSince` (a heartbeat, an
   * earlier poll): a later contact tells it nothing, only an inventory reported since then can
   * (its extension attributes are as old as `general.reportDate`). They are asked for with
   * `general.reportDate>=` instead, in requests of their own: RSQL's `;` (AND) is all the
   * action relies on, as Jamf documents no grouping of `,` (OR).
   */
  readonly reportedOnly?: ReadonlySet<number>;
}

export interface JamfClientParams {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  /** Largest inventory page to ask for (default {@link JAMF_MAX_PAGE_SIZE}). */
  readonly pageSize?: number;
}

/**
 * The fields the action reads of one computer. Taken by hand from each result (not a schema
 * copy of the whole record): a real inventory record carries dozens of fields and extension
 * attributes, and 50,000 of them must not outlive their page.
 */
export interface JamfComputer {
  readonly id: string;
  readonly name?: string | undefined;
  readonly managementId?: string | undefined;
  /** The agent's last contact: general.lastContact, else lastCheckIn (v4); lastContactTime (v1–v3). */
  readonly lastContact?: string | undefined;
  /** general.reportDate: the last inventory report, which is when extension attributes last changed. */
  readonly reportDate?: string | undefined;
  /** `values` of the extension attribute named by `inventory`'s `attribute` (absent: not reported). */
  readonly attribute?: readonly string[] | undefined;
}

/** Jamf asks API clients for at most 5 concurrent connections (scalability best practices). */
export const JAMF_MAX_CONNECTIONS = 5;
/**
 * Largest `page-size` asked of computers-inventory. Jamf does not document the maximum; the
 * macadmins SDK says 2000 (reference/mdm.md §3.3). A 400 about page-size lowers it for the
 * rest of the run (to the limit the error names, else half), and a page the server silently
 * cut short is finished by asking again for the ids it left out, so a lower real limit costs
 * requests, never data.
 */
export const JAMF_MAX_PAGE_SIZE = 2000;
/**
 * Bytes of request target (path + query) per inventory request. Ids travel in the request
 * line (`id=in=(…)`), which Jamf Cloud's load balancer caps near 16 KiB (431 above); 15,000
 * leaves room for the headers and still fits 2000 six-digit ids joined by raw commas, so a
 * request carries a full page of ids. A 414/431 halves the budget for the rest of the run.
 */
export const JAMF_MAX_TARGET_BYTES = 15_000;
/**
 * A page whose body would exceed about this size is not asked for: after each page the
 * client estimates bytes per computer and shrinks later pages so one response stays
 * near 8 MiB (inventory with many extension attributes can be 20 KB a computer).
 */
export const JAMF_TARGET_PAGE_BYTES = 8 * 1024 * 1024;
/** Management ids per blank push. Jamf documents no maximum; 1000 keeps a body near 40 KB. */
export const JAMF_PUSH_BATCH = 1000;
/** Every version's inventory path (/api/v1…v4/computers-inventory) is this long. */
const INVENTORY_PATH_BYTES = '/api/v4/computers-inventory'.length;
const SORT_QUERY = 'sort=id%3Aasc';
/** Room for the longer time filter, `;general.lastContactTime>=2026-01-01T00:00:00Z`, encoded. */
const TIME_FILTER_BYTES = encodeURIComponent(';general.lastContactTime>=2026-01-01T00:00:00Z').length;
const VERSION_PATH = '/api/v1/jamf-pro-version';
const CLASSIC_PUSH_PATH = '/JSSResource/computercommands/command/BlankPush/id/';
// Response shapes read on every page or chunk: built once (zod compiles a schema on its first parse).
const MembersSchema = z.looseObject({ members: z.array(z.coerce.number().int()) });
const BlankPushSchema = z.looseObject({ errorUuids: z.array(z.string()).nullish() });

/**
 * The page size to try after a 400 about page-size for `asked` ids: the largest number the
 * error's text names below `asked` ("page-size must be between 1 and 1000"), else half.
 */
function pageSizeFrom(message: string, asked: number): number {
  const at = message.indexOf('computers-inventory');
  const detail = at < 0 ? message : message.slice(at + 'computers-inventory'.length);
  const named = (detail.match(/\d+/g) ?? []).map(Number).filter((n) => n >= 10 && n < asked);
  return named.length ? Math.max(...named) : Math.max(1, Math.floor(asked / 2));
}

/** `;field>=since` added to an inventory request's id filter; `else` is used when the server refuses `field`. */
interface TimeFilter {
  readonly field: string;
  readonly since: Date;
  readonly else?: TimeFilter | undefined;
}

function validDate(d: Date | undefined): Date | undefined {
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

/** ISO-8601 without milliseconds, rounded down: a filter that can only include more. */
function wholeSecond(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

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
  readonly #basePath: string;
  /** Learnt down at run time: see JAMF_MAX_PAGE_SIZE, JAMF_MAX_TARGET_BYTES, JAMF_TARGET_PAGE_BYTES. */
  #pageSize: number;
  #targetBytes = JAMF_MAX_TARGET_BYTES;
  /** Time-filter fields this server refused (HTTP 400 naming RSQL): not asked again. */
  readonly #refusedFilters = new Set<string>();
  #bytesPerComputer = 1;
  readonly #where: string;
  /** The server's version and its row, read once per client (one client per run and intent). */
  #shape: Promise<{ version: string; shape: JamfApiShape }> | undefined;

  constructor(p: JamfClientParams) {
    this.#where = new URL(p.url).origin + new URL(p.url).pathname.replace(/\/+$/, '');
    this.#pageSize = Math.max(1, Math.min(p.pageSize ?? JAMF_MAX_PAGE_SIZE, JAMF_MAX_PAGE_SIZE));
    this.#basePath = new URL(p.url).pathname.replace(/\/+$/, '');
    this.#token = new ClientCredentialsToken('jamf', p.url, USER_AGENT, {
      tokenPath: '/api/v1/oauth/token',
      form: { grant_type: 'client_credentials', client_id: p.clientId, client_secret: p.clientSecret },
      ...(p.retry ? { retry: p.retry } : {}),
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

  apiShape(): Promise<{ version: string; shape: JamfApiShape }> {
    this.#shape ??= this.#readVersion();
    return this.#shape;
  }

  async #readVersion(): Promise<{ version: string; shape: JamfApiShape }> {
    const res = await this.#http.send({
      method: 'GET',
      path: VERSION_PATH,
      headers: { accept: 'application/json' },
      okStatuses: [404],
    });
    if (res.status === 404) {
      throw new JamfVersionError(
        `jamf: ${this.#where} has no ${VERSION_PATH} (HTTP 404), so its version is unknown; thoth-rotate supports Jamf Pro 11.0 and later. Nothing was changed`,
      );
    }
    let raw: unknown;
    try {
      raw = asRecord(JSON.parse(res.text))?.['version'];
    } catch {
      raw = undefined;
    }
    const version = parseJamfVersion(raw);
    if (!version) throw unreadableJamfVersion(raw, this.#where);
    const shape = jamfShapeFor(version, this.#where);
    const members = shape.membership.kind === 'classic' ? 'Classic computergroups' : `${shape.membership.path}{id}`;
    log.info(
      `jamf: Jamf Pro ${version.text}: inventory ${shape.inventoryPath}, members ${members}, blank push ${shape.blankPush === 'classic' ? 'Classic computercommands BlankPush' : '/api/v2/mdm/blank-push'}`,
    );
    return { version: version.text, shape };
  }

  async getProfile(profileId: number): Promise<JamfProfile> {
    await this.apiShape();
    const res = await this.#http.send({
      method: 'GET',
      path: `/JSSResource/osxconfigurationprofiles/id/${seg(profileId)}`,
      headers: { accept: 'application/xml' },
    });
    return parseJamfProfile(res.text);
  }

  async putProfilePayloads(profileId: number, payloads: string): Promise<void> {
    await this.apiShape();
    await this.#http.send({
      method: 'PUT',
      path: `/JSSResource/osxconfigurationprofiles/id/${seg(profileId)}`,
      headers: { 'content-type': 'application/xml', accept: 'application/xml' },
      body: buildJamfProfileUpdate(payloads),
    });
  }

  async groupMembers(groupId: number): Promise<number[]> {
    const { shape } = await this.apiShape();
    const res =
      shape.membership.kind === 'jamf-pro'
        ? await this.#http.send({
            method: 'GET',
            path: `${shape.membership.path}${seg(groupId)}`,
            headers: { accept: 'application/json' },
            okStatuses: [404],
          })
        : undefined;
    if (res && res.status !== 404) {
      let json: unknown;
      try {
        json = JSON.parse(res.text);
      } catch {
        // A proxy's sign-in page answered with 200: a shape error, never the body itself.
        throw new ResponseShapeError('jamf', 'GET smart-group-membership', 'response is not JSON');
      }
      const body = MembersSchema.safeParse(json);
      if (!body.success) throw new ResponseShapeError('jamf', 'GET smart-group-membership', 'no members array');
      return [...new Set(body.data.members)]; // a member listed twice is one computer
    }
    // 404 here means "not a smart group" as often as "no such group": ask Classic, which knows
    // both (and is the only membership call of the versions before 11.23).
    const classic = await this.#http.send({
      method: 'GET',
      path: `/JSSResource/computergroups/id/${seg(groupId)}`,
      headers: { accept: 'application/xml' },
    });
    return parseComputerGroup(classic.text).computerIds;
  }

  /**
   * Up to 5 requests in flight (Jamf's connection limit), each asking for one page of ids:
   * as many ids as fit the page size, the request-line budget and the page-bytes budget, all
   * three learnt down at run time when Jamf refuses or cuts short. Ids are taken from a
   * shared cursor when a request starts, so what is learnt applies to the next request.
   */
  async inventory<T>(
    ids: readonly number[],
    attribute: string | undefined,
    toItem: (c: JamfComputer) => T,
    opts: InventoryOptions = {},
  ): Promise<T[]> {
    const { shape } = await this.apiShape();
    const out: T[] = [];
    const since = validDate(opts.contactedSince);
    const contact: TimeFilter | undefined = since && { field: shape.contactFilter, since };
    // Two runs of ids, each with its own time filter; a request never mixes them.
    const reported = since && opts.reportedOnly;
    const runs: { ids: readonly number[]; filter: TimeFilter | undefined }[] = reported
      ? [
          { ids: ids.filter((id) => !reported.has(id)), filter: contact },
          {
            ids: ids.filter((id) => reported.has(id)),
            filter: { field: `general.${shape.reportField}`, since, else: contact },
          },
        ]
      : [{ ids, filter: contact }];
    const queue: { ids: number[]; filter: TimeFilter | undefined }[] = [];
    let run = 0;
    let next = 0;
    let failed = false;
    const take = (): { ids: number[]; filter: TimeFilter | undefined } | undefined => {
      if (failed) return undefined;
      const retry = queue.pop();
      if (retry) {
        // Refused or cut-short ids go out again under what was just learnt.
        const head = this.#fit(retry.ids, 0);
        if (head.length < retry.ids.length) queue.push({ ids: retry.ids.slice(head.length), filter: retry.filter });
        return { ids: head, filter: retry.filter };
      }
      while (run < runs.length && next >= runs[run]!.ids.length) {
        run++;
        next = 0;
      }
      const r = runs[run];
      if (!r) return undefined;
      const chunk = this.#fit(r.ids, next);
      next += chunk.length;
      return { ids: chunk, filter: r.filter };
    };
    const worker = async (): Promise<void> => {
      try {
        for (let chunk = take(); chunk; chunk = take()) {
          const rest = await this.#inventoryPage(shape, chunk.ids, attribute, toItem, out, this.#usable(chunk.filter));
          if (rest.length > 0) queue.push({ ids: rest, filter: chunk.filter });
        }
      } catch (e) {
        failed = true; // the other workers finish their page and stop
        throw e;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(JAMF_MAX_CONNECTIONS, Math.max(1, Math.ceil(ids.length / 100))) }, worker),
    );
    return out;
  }

  /**
   * The time filter this server takes: a field it refused falls back to the filter's `else`
   * (reportDate → the contact field), then to none (ids only): more inventory, never less.
   */
  #usable(filter: TimeFilter | undefined): TimeFilter | undefined {
    let f = filter;
    while (f && this.#refusedFilters.has(f.field)) f = f.else;
    return f;
  }

  /** The longest run of ids from `from` that one request may carry now (room kept for a time filter). */
  #fit(ids: readonly number[], from: number): number[] {
    const limit = Math.max(1, Math.min(this.#pageSize, Math.floor(JAMF_TARGET_PAGE_BYTES / this.#bytesPerComputer)));
    let bytes = this.#targetBase;
    let end = from;
    while (end < ids.length && end - from < limit) {
      const add = String(ids[end]).length + 1;
      if (end > from && bytes + add > this.#targetBytes) break;
      bytes += add;
      end++;
    }
    return ids.slice(from, end) as number[];
  }

  get #targetBase(): number {
    return (
      this.#basePath.length +
      INVENTORY_PATH_BYTES +
      1 +
      'section=EXTENSION_ATTRIBUTES&'.length * 2 +
      SORT_QUERY.length +
      `&page=0&page-size=${this.#pageSize}&filter=id%3Din%3D()`.length +
      TIME_FILTER_BYTES
    );
  }

  /**
   * One request for `ids`; returns the ids still to read: those a page cut short left out, or
   * all of them when Jamf refused the request as too long or too large (the limit learnt).
   */
  async #inventoryPage<T>(
    shape: JamfApiShape,
    ids: number[],
    attribute: string | undefined,
    toItem: (c: JamfComputer) => T,
    out: T[],
    since: TimeFilter | undefined,
  ): Promise<number[]> {
    // Commas stay raw (RFC 3986 allows them in a query): %2C would make a 2000-id line 18 KB.
    const time = since ? encodeURIComponent(`;${since.field}>=${wholeSecond(since.since)}`) : '';
    const sections = shape.sections.map((x) => `section=${x}`).join('&');
    const q = `${sections}&${SORT_QUERY}&page=0&page-size=${Math.max(ids.length, 1)}&filter=${encodeURIComponent('id=in=(')}${ids.join(',')})${time}`;
    // Streamed computer by computer (json-stream.ts): a page is never held whole, and each
    // computer is reduced to the fields the action uses as it arrives.
    const asked = new Set(ids);
    let page: StreamedJson<readonly [number, T]>;
    try {
      page = await this.#http.jsonArrays({ method: 'GET', path: `${shape.inventoryPath}?${q}` }, ['results'], (raw) => {
        const c = readComputer(raw, attribute, shape);
        if (!c) throw new ResponseShapeError('jamf', 'GET computers-inventory', 'a result without an id');
        // A computer we did not filter for means the filter was ignored: re-asking could loop forever.
        const id = Number(c.id);
        if (!asked.has(id))
          throw new ResponseShapeError(
            'jamf',
            'GET computers-inventory',
            `computer ${id || '(bad id)'} was not in the id filter`,
          );
        return [id, toItem(c)] as const;
      });
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      if (
        since &&
        e.status === 400 &&
        /rsql|filter/i.test(`${e.code ?? ''} ${e.message}`) &&
        !/page.?size/i.test(e.message)
      ) {
        // This Jamf does not filter on that field: from now on, the next filter or ids only.
        this.#refusedFilters.add(since.field);
        const instead = this.#usable(since);
        log.debug(
          `jamf: inventory refused the ${since.field} filter; ${instead ? `using ${instead.field}` : 'reading by id only'}`,
        );
        return ids;
      }
      if (ids.length < 2) throw e;
      const tooLong = e.status === 414 || e.status === 431 || (e.status === 400 && q.length > 8000 && !e.code);
      const pageTooBig = e.status === 400 && /page.?size/i.test(e.message);
      if (!tooLong && !pageTooBig) throw e;
      // Learn the lower limit for the rest of the run; the ids go back to the queue.
      if (tooLong) this.#targetBytes = Math.min(this.#targetBytes, Math.floor(q.length / 2));
      if (pageTooBig) this.#pageSize = Math.min(this.#pageSize, pageSizeFrom(e.message, ids.length));
      log.debug(
        `jamf: inventory request for ${ids.length} ids refused (HTTP ${e.status}); asking for fewer per request`,
      );
      return ids;
    }
    const totalCount = page.rest['totalCount'];
    if (typeof totalCount !== 'number' || !wasStreamed(page.rest, 'results'))
      throw new ResponseShapeError('jamf', 'GET computers-inventory', 'no totalCount/results');
    const results = page.items;
    if (results.length > 0)
      this.#bytesPerComputer = Math.max(this.#bytesPerComputer, Math.ceil(page.bytes / results.length));
    const seen = new Set<number>();
    // Only a page read whole and checked reaches the caller.
    for (const [id, item] of results) {
      seen.add(id);
      out.push(item);
    }
    // Jamf may cap page-size below what we asked without saying so: then totalCount exceeds
    // the page; ask again for the ids it left out (an empty page ends it: no loop on a lie).
    if (results.length === 0 || totalCount <= results.length) return [];
    this.#pageSize = Math.min(this.#pageSize, results.length);
    return ids.filter((id) => !seen.has(id));
  }

  async blankPush(targets: readonly JamfPushTarget[]): Promise<string[]> {
    const { shape } = await this.apiShape();
    if (targets.length === 0) return [];
    return shape.blankPush === 'classic' ? this.#classicPush(targets) : this.#jamfProPush(targets);
  }

  async #jamfProPush(targets: readonly JamfPushTarget[]): Promise<string[]> {
    // A computer without a management id cannot be named to this call.
    const noId = targets.filter((t) => t.managementId === '').map((t) => String(t.id));
    const managementIds = targets.filter((t) => t.managementId !== '').map((t) => t.managementId);
    const chunks: string[][] = [];
    for (let i = 0; i < managementIds.length; i += JAMF_PUSH_BATCH)
      chunks.push(managementIds.slice(i, i + JAMF_PUSH_BATCH));
    // The dispatcher holds at most 5 connections: the chunks go out 5 at a time.
    const failed = await Promise.all(
      chunks.map(async (clientManagementIds) => {
        const body = await this.#http.json({
          method: 'POST',
          path: '/api/v2/mdm/blank-push',
          body: JSON.stringify({ clientManagementIds }),
        });
        const r = BlankPushSchema.safeParse(body ?? {});
        return r.success ? (r.data.errorUuids ?? []) : [];
      }),
    );
    return [...noId, ...failed.flat()];
  }

  /**
   * Classic BlankPush (servers before 11.23): computer ids in the path, comma-separated
   * ("id/33 or id/33,34", CLASSIC swagger 11.23.2 `/computercommands/command/{command}/id/{id}`),
   * as many as fit the request-line budget. Any 2xx queued them all; a 400/404/409 refused that
   * request's computers (named, the run goes on and validation sees them), anything else stops.
   */
  async #classicPush(targets: readonly JamfPushTarget[]): Promise<string[]> {
    const budget = Math.max(64, this.#targetBytes - this.#basePath.length - CLASSIC_PUSH_PATH.length);
    const chunks: number[][] = [];
    let chunk: number[] = [];
    let bytes = 0;
    for (const { id } of targets) {
      const add = String(id).length + 1;
      if (chunk.length > 0 && bytes + add > budget) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(id);
      bytes += add;
    }
    if (chunk.length) chunks.push(chunk);
    const refused = await Promise.all(
      chunks.map(async (ids) => {
        try {
          await this.#http.send({
            method: 'POST',
            path: `${CLASSIC_PUSH_PATH}${ids.join(',')}`,
            headers: { accept: 'application/xml' },
          });
          return [];
        } catch (e) {
          if (e instanceof HttpError && [400, 404, 409].includes(e.status)) return ids.map(String);
          throw e;
        }
      }),
    );
    return refused.flat();
  }

  async close(): Promise<void> {
    // Hygiene: a disabled API client does not revoke issued tokens, so end ours explicitly.
    if (this.#token.current) {
      await this.#http
        .send({ method: 'POST', path: '/api/v1/auth/invalidate-token', retry: false })
        .catch(() => undefined);
    }
    await Promise.all([this.#http.close(), this.#token.close()]);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The fields of one inventory result the action uses (see JamfComputer); undefined without an id. */
export function readComputer(
  raw: unknown,
  attribute: string | undefined,
  shape: Pick<JamfApiShape, 'contactFields' | 'reportField' | 'managementIdField'>,
): JamfComputer | undefined {
  const r = asRecord(raw);
  const id = r?.['id'];
  if (!r || (typeof id !== 'string' && typeof id !== 'number') || String(id) === '') return undefined;
  const g = asRecord(r['general']) ?? {};
  const c: { -readonly [K in keyof JamfComputer]: JamfComputer[K] } = { id: String(id) };
  const name = str(g['name']);
  if (name !== undefined) c.name = name;
  const managementId = str(g[shape.managementIdField]);
  if (managementId !== undefined) c.managementId = managementId;
  // Only the version's own field names: a server that sends another generation's name is not
  // the version it said it was, and its times are not read as contact.
  let contact: string | undefined;
  for (const f of shape.contactFields) contact ??= str(g[f]);
  if (contact !== undefined) c.lastContact = contact;
  const reportDate = str(g[shape.reportField]);
  if (reportDate !== undefined) c.reportDate = reportDate;
  if (attribute !== undefined) {
    // v4 returns the section at the top level; older shapes nest it under general.
    for (const list of [r['extensionAttributes'], g['extensionAttributes']]) {
      if (!Array.isArray(list)) continue;
      const ea = list.map(asRecord).find((e) => e?.['name'] === attribute);
      if (!ea) continue;
      const values = ea['values'];
      c.attribute = Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [];
      break;
    }
  }
  return c;
}

export function createJamfClient(p: JamfClientParams): JamfApi {
  return new JamfClient(p);
}
