import { z } from 'zod';
import { HttpError, ResponseShapeError } from '../errors.js';
import { wasStreamed } from '../http/json-stream.js';
import {
  HttpClient,
  seg,
  streamJsonArrays,
  type BodyConsumer,
  type HttpResponse,
  type Method,
  type StreamedJson,
} from '../http/client.js';
import { redact } from '../secrets.js';
import type { WritePacer } from '../http/pacer.js';
import { backoffDelay, parseRetryAfter, type RetryPolicy } from '../http/retry.js';
import { USER_AGENT } from '../version.js';
import {
  DEFAULT_BATCH_POLICY,
  describeGraphError,
  nextLinkPath,
  parse,
  parseBatchResponse,
  runBatches,
  type BatchPolicy,
  type InnerRequest,
  type InnerResponse,
} from './graph-batch.js';
import { ClientCredentialsToken } from './oauth.js';

/** Microsoft Graph (Intune) calls of spec mdm.md "Microsoft Graph". */
export interface GraphApi {
  getMacosConfiguration(id: string): Promise<MacosConfiguration>;
  /** PATCH with `@odata.type`, payloadName, payloadFileName and payload (base64 mobileconfig). */
  patchMacosConfiguration(id: string, c: MacosConfiguration): Promise<void>;
  /** Beta `deviceHealthScripts/{id}`: both scripts, base64 as Graph returned them. */
  getRemediationScript(id: string): Promise<RemediationScripts>;
  /** PATCH both scripts in one request (a detection script left out stays as it is). */
  patchRemediationScript(id: string, scripts: RemediationScripts): Promise<void>;
  /** Transitive device members (nested groups included) of an Entra group. */
  groupDevices(groupId: string): Promise<EntraDevice[]>;
  /** Ids of the transitive user members of an Entra group. */
  groupUsers(groupId: string): Promise<string[]>;
  /** Managed devices of these users (`/users/{id}/managedDevices`), 20 users per `$batch`. */
  userManagedDevices(userIds: readonly string[]): Promise<ManagedDevice[]>;
  /** Every managed device of the tenant (all pages). */
  managedDevices(): Promise<ManagedDevice[]>;
  /** These managed devices by id, 20 per `$batch`; devices that are gone are left out. */
  managedDevicesById(ids: readonly string[]): Promise<ManagedDevice[]>;
  /** `syncDevice` for each id through paced `$batch`es; returns those Graph did not accept. */
  syncDevices(ids: readonly string[]): Promise<SyncFailure[]>;
  /**
   * Beta `initiateOnDemandProactiveRemediation` `{scriptPolicyId}` for each id, through paced
   * beta `$batch`es (a device write like syncDevice); returns those Graph did not accept.
   */
  remediateOnDemand(ids: readonly string[], scriptPolicyId: string): Promise<SyncFailure[]>;
  /** Per-device results of a remediation (beta), with the managed device id expanded. */
  deviceRunStates(remediationId: string): Promise<RunState[]>;
  stats(): GraphStats;
  close(): Promise<void>;
}

export interface MacosConfiguration {
  readonly payloadName: string;
  readonly payloadFileName: string;
  /** base64 of the mobileconfig */
  readonly payload: string;
}

/** A remediation's two scripts, base64 (`detectionScriptContent` absent when Graph has none). */
export interface RemediationScripts {
  readonly remediationScriptContent: string;
  readonly detectionScriptContent?: string;
}

export interface SyncFailure {
  readonly id: string;
  readonly status: number;
  readonly code?: string;
}

/** Counters for the benchmark and the run's statistics line. */
export interface GraphStats {
  /** HTTP requests sent to Graph (a `$batch` is one). */
  readonly requests: number;
  /** Requests carried inside `$batch`es, retries included. */
  readonly batchedRequests: number;
  /** Writes sent (device actions in `$batch`es and PATCHes), retries included. */
  readonly writes: number;
  /** 429 answers received, outer and inner. */
  readonly throttled: number;
}

export interface GraphClientParams {
  readonly graphUrl: string;
  readonly loginUrl: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * Paces writes to Intune "devices" resources (syncDevice, deviceHealthScripts), shared by
   * every client of the run for this app and tenant.
   */
  readonly pacer: WritePacer;
  /**
   * Paces writes to "device configuration" resources (deviceConfigurations). Intune budgets
   * the two categories separately (reference §11.2: 200 vs 100 writes / 20 s per app), so a
   * profile PATCH does not take a slot from the syncs. Default: `pacer`.
   */
  readonly configPacer?: WritePacer;
  readonly retry?: RetryPolicy;
  readonly batch?: Partial<BatchPolicy>;
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const EntraDeviceSchema = z.looseObject({
  id: z.string(),
  deviceId: z.string().nullish(),
  displayName: z.string().nullish(),
});
export type EntraDevice = z.infer<typeof EntraDeviceSchema>;
const ManagedDeviceSchema = z.looseObject({
  id: z.string().min(1),
  deviceName: z.string().nullish(),
  azureADDeviceId: z.string().nullish(),
  lastSyncDateTime: z.string().nullish(),
  operatingSystem: z.string().nullish(),
});
export type ManagedDevice = z.infer<typeof ManagedDeviceSchema>;
/** beta deviceHealthScriptDeviceState (api-reference/beta/resources/intune-devices-devicehealthscriptdevicestate.md). */
const RunStateSchema = z.looseObject({
  id: z.string(),
  /** Of the last run: `success` (detection found no issue), `fail` (it exited 1), `scriptError`, … */
  detectionState: z.string().nullish(),
  /** `skipped` (detection found no issue), `success`, `remediationFailed`, `scriptError`, … */
  remediationState: z.string().nullish(),
  /** "The last timestamp of when the device health script executed". */
  lastStateUpdateDateTime: z.string().nullish(),
  preRemediationDetectionScriptOutput: z.string().nullish(),
  postRemediationDetectionScriptOutput: z.string().nullish(),
  managedDevice: z.looseObject({ id: z.string() }).nullish(),
});
export type RunState = z.infer<typeof RunStateSchema>;
const PageSchema = z.looseObject({ value: z.array(z.unknown()), '@odata.nextLink': z.string().nullish() });
const MacosSchema = z.looseObject({
  '@odata.type': z.string().nullish(),
  payloadName: z.string().nullish(),
  payloadFileName: z.string().nullish(),
  payload: z.string(),
});
const ScriptSchema = z.looseObject({
  remediationScriptContent: z.string(),
  detectionScriptContent: z.string().nullish(),
});

const MACOS_TYPE = '#microsoft.graph.macOSCustomConfiguration';
const MD_SELECT = '$select=id,deviceName,azureADDeviceId,lastSyncDateTime,operatingSystem';
/** Directory listings allow up to 999 per page (reference §8.1): fewer round trips for big groups. */
const MEMBERS_QUERY = '$count=true&$top=999';
/** Casting transitiveMembers is an advanced query: header and $count=true on every page (concepts/paging.md). */
const EVENTUAL = { consistencylevel: 'eventual' } as const;
const MAX_PAGES = 100_000;
const THROTTLE: RetryPolicy = { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 32_000, maxRetryAfterMs: 150_000 };

class GraphClient implements GraphApi {
  readonly #http: HttpClient;
  readonly #token: ClientCredentialsToken;
  readonly #pacer: WritePacer;
  readonly #configPacer: WritePacer;
  readonly #base: string;
  readonly #batch: Partial<BatchPolicy>;
  readonly #sleep: (ms: number) => Promise<void>;
  #batched = 0;
  #writes = 0;
  #throttled = 0;

  constructor(p: GraphClientParams) {
    this.#base = p.graphUrl.replace(/\/+$/, '');
    this.#pacer = p.pacer;
    this.#configPacer = p.configPacer ?? p.pacer;
    this.#batch = p.batch ?? {};
    this.#sleep = p.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#token = new ClientCredentialsToken('graph', p.loginUrl, USER_AGENT, {
      tokenPath: `/${seg(p.tenantId)}/oauth2/v2.0/token`,
      form: {
        client_id: p.clientId,
        client_secret: p.clientSecret,
        grant_type: 'client_credentials',
        scope: `${this.#base}/.default`,
      },
      ...(p.retry ? { retry: p.retry } : {}),
    });
    this.#http = new HttpClient({
      system: 'graph',
      baseUrl: this.#base,
      userAgent: USER_AGENT,
      timeoutMs: p.timeoutMs ?? 60_000,
      ...(p.retry ? { retry: p.retry } : {}),
      ...(p.sleep ? { sleep: p.sleep } : {}),
      auth: this.#token,
      describeError: describeGraphError,
    });
  }

  /** One call; a 429 is retried here (counted; paced when `write` names the write's pacer) instead of inside HttpClient. */
  async #send(
    method: Method,
    path: string,
    o: { body?: unknown; headers?: Record<string, string>; write?: WritePacer; stream?: BodyConsumer } = {},
  ): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      const ticket = o.write ? await o.write.acquire(1) : undefined;
      let res: HttpResponse;
      try {
        if (o.write) this.#writes++;
        res = await this.#http.send(
          {
            method,
            path,
            okStatuses: [429],
            headers: { accept: 'application/json', ...o.headers },
            ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
          },
          o.stream,
        );
      } finally {
        ticket?.done();
      }
      if (res.status !== 429) return res;
      this.#throttled++;
      const wait = parseRetryAfter(res.headers['retry-after'], Date.now()) ?? backoffDelay(THROTTLE, attempt);
      if (attempt >= THROTTLE.attempts || wait > THROTTLE.maxRetryAfterMs) {
        const d = describeGraphError(429, res.text);
        throw new HttpError({
          system: 'graph',
          method,
          path: new URL(this.#base).pathname.replace(/\/$/, '') + path.split('?')[0],
          status: 429,
          code: d.code,
          detail: `still throttled after ${attempt} attempt(s)`,
          retryable: true,
        });
      }
      o.write?.holdUntil(Date.now() + wait);
      await this.#sleep(wait);
    }
  }

  async #json<T>(schema: z.ZodType<T>, path: string, call: string, headers?: Record<string, string>): Promise<T> {
    const res = await this.#send('GET', path, headers ? { headers } : {});
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new ResponseShapeError('graph', call, 'response is not JSON');
    }
    return parse(schema, body, call);
  }

  /**
   * Follows `@odata.nextLink` to the end, re-sending `headers` on every page. Pages are
   * streamed item by item (json-stream.ts): a 1000-device page is never held whole.
   */
  async #pages<T>(
    first: string | { page: unknown },
    item: z.ZodType<T>,
    call: string,
    headers?: Record<string, string>,
  ): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    let link: string | undefined;
    if (typeof first === 'string') {
      link = await this.#page(first, item, call, out, headers);
    } else {
      const page = parse(PageSchema, first.page, call);
      for (const v of page.value) out.push(parse(item, v, call));
      link = page['@odata.nextLink'] ?? undefined;
    }
    for (let n = 1; link; n++) {
      if (seen.has(link) || n >= MAX_PAGES)
        throw new ResponseShapeError('graph', call, '@odata.nextLink repeats itself');
      seen.add(link);
      link = await this.#page(nextLinkPath(link, this.#base), item, call, out, headers);
    }
    return out;
  }

  /** One page's items appended to `out`; returns its next link. */
  async #page<T>(
    path: string,
    item: z.ZodType<T>,
    call: string,
    out: T[],
    headers?: Record<string, string>,
  ): Promise<string | undefined> {
    const res = await this.#send('GET', path, {
      ...(headers ? { headers } : {}),
      stream: streamJsonArrays(['value'], (v) => parse(item, v, call)),
    });
    const page = res.streamed as StreamedJson<T>;
    if (!wasStreamed(page.rest, 'value'))
      throw new ResponseShapeError('graph', call, 'missing or malformed field(s): value');
    const rest = parse(PageSchema, page.rest, call);
    for (const v of page.items) out.push(v);
    return rest['@odata.nextLink'] ?? undefined;
  }

  /** `version`: the `$batch` endpoint, which every inner url is relative to (beta actions need beta). */
  async #runBatch(requests: InnerRequest[], version: 'v1.0' | 'beta' = 'v1.0'): Promise<Map<string, InnerResponse>> {
    return runBatches(requests, {
      now: () => Date.now(),
      sleep: this.#sleep,
      pacer: this.#pacer,
      policy: { ...DEFAULT_BATCH_POLICY, ...this.#batch },
      send: async (reqs) => {
        this.#batched += reqs.length;
        this.#writes += reqs.filter((r) => r.write).length;
        const body = {
          requests: reqs.map((r) => ({
            id: r.id,
            method: r.method,
            url: r.url,
            ...(r.headers ? { headers: r.headers } : {}),
            ...(r.body !== undefined ? { body: r.body } : {}),
          })),
        };
        const res = await this.#http.send({
          method: 'POST',
          path: `/${version}/$batch`,
          headers: { accept: 'application/json' },
          body: JSON.stringify(body),
          okStatuses: [429],
        });
        if (res.status === 429) {
          // The whole batch was refused: every item is a 429 with the outer Retry-After.
          this.#throttled += reqs.length;
          const h = res.headers['retry-after'] !== undefined ? { 'retry-after': res.headers['retry-after'] } : {};
          return reqs.map((r) => ({ id: r.id, status: 429, headers: h }));
        }
        const items = parseBatchResponse(res.text);
        this.#throttled += items.filter((i) => i.status === 429).length;
        return items;
      },
    });
  }

  /** A failed inner read means an incomplete picture of the group: it is an error, not a gap. */
  #innerError(call: string, a: InnerResponse): HttpError {
    const e = (a.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return new HttpError({
      system: 'graph',
      method: 'GET',
      path: `$batch ${call}`,
      status: a.status,
      code: typeof e?.code === 'string' ? e.code : undefined,
      detail: typeof e?.message === 'string' ? redact(e.message.replace(/\s+/g, ' ')).slice(0, 300) : '',
      retryable: a.status === 0 || a.status === 429 || a.status >= 500,
    });
  }

  async getMacosConfiguration(id: string): Promise<MacosConfiguration> {
    const c = await this.#json(
      MacosSchema,
      `/v1.0/deviceManagement/deviceConfigurations/${seg(id)}`,
      'GET deviceConfigurations',
    );
    if (c['@odata.type'] && c['@odata.type'] !== MACOS_TYPE)
      throw new ResponseShapeError(
        'graph',
        'GET deviceConfigurations',
        `configuration ${id} is not a macOSCustomConfiguration`,
      );
    return { payloadName: c.payloadName ?? '', payloadFileName: c.payloadFileName ?? '', payload: c.payload };
  }

  async patchMacosConfiguration(id: string, c: MacosConfiguration): Promise<void> {
    await this.#send('PATCH', `/v1.0/deviceManagement/deviceConfigurations/${seg(id)}`, {
      write: this.#configPacer,
      body: {
        '@odata.type': MACOS_TYPE,
        ...(c.payloadName ? { payloadName: c.payloadName } : {}),
        ...(c.payloadFileName ? { payloadFileName: c.payloadFileName } : {}),
        payload: c.payload,
      },
    });
  }

  async getRemediationScript(id: string): Promise<RemediationScripts> {
    const s = await this.#json(
      ScriptSchema,
      `/beta/deviceManagement/deviceHealthScripts/${seg(id)}`,
      'GET deviceHealthScripts',
    );
    return {
      remediationScriptContent: s.remediationScriptContent,
      ...(typeof s.detectionScriptContent === 'string' ? { detectionScriptContent: s.detectionScriptContent } : {}),
    };
  }

  async patchRemediationScript(id: string, scripts: RemediationScripts): Promise<void> {
    // deviceHealthScripts exist in beta only (reference §7.5). One PATCH for both scripts: a
    // device that fetches policy in between never gets a detection script of one key with the
    // remediation script of another.
    const body = {
      '@odata.type': '#microsoft.graph.deviceHealthScript',
      ...(scripts.detectionScriptContent !== undefined
        ? { detectionScriptContent: scripts.detectionScriptContent }
        : {}),
      remediationScriptContent: scripts.remediationScriptContent,
    };
    await this.#send('PATCH', `/beta/deviceManagement/deviceHealthScripts/${seg(id)}`, { write: this.#pacer, body });
  }

  groupDevices(groupId: string): Promise<EntraDevice[]> {
    return this.#pages(
      `/v1.0/groups/${seg(groupId)}/transitiveMembers/microsoft.graph.device?${MEMBERS_QUERY}&$select=id,deviceId,displayName`,
      EntraDeviceSchema,
      'GET transitiveMembers/device',
      EVENTUAL,
    );
  }

  async groupUsers(groupId: string): Promise<string[]> {
    const users = await this.#pages(
      `/v1.0/groups/${seg(groupId)}/transitiveMembers/microsoft.graph.user?${MEMBERS_QUERY}&$select=id`,
      z.looseObject({ id: z.string() }),
      'GET transitiveMembers/user',
      EVENTUAL,
    );
    return users.map((u) => u.id);
  }

  async userManagedDevices(userIds: readonly string[]): Promise<ManagedDevice[]> {
    const ids = [...new Set(userIds)];
    const answers = await this.#runBatch(
      ids.map((u, i) => ({
        id: String(i + 1),
        method: 'GET',
        url: `/users/${seg(u)}/managedDevices?${MD_SELECT}`,
        write: false,
      })),
    );
    const out: ManagedDevice[] = [];
    for (const [, a] of [...answers].sort(([x], [y]) => Number(x) - Number(y))) {
      if (a.status === 404) continue; // the user left the directory since the listing
      if (a.status !== 200) throw this.#innerError('users/managedDevices', a);
      out.push(...(await this.#pages({ page: a.body }, ManagedDeviceSchema, 'GET users/managedDevices')));
    }
    return out;
  }

  managedDevices(): Promise<ManagedDevice[]> {
    // $filter on managedDevices is unreliable (reference §8.2): list once and join in memory.
    return this.#pages(`/v1.0/deviceManagement/managedDevices?${MD_SELECT}`, ManagedDeviceSchema, 'GET managedDevices');
  }

  async managedDevicesById(ids: readonly string[]): Promise<ManagedDevice[]> {
    const unique = [...new Set(ids)];
    const answers = await this.#runBatch(
      unique.map((d, i) => ({
        id: String(i + 1),
        method: 'GET',
        url: `/deviceManagement/managedDevices/${seg(d)}?${MD_SELECT}`,
        write: false,
      })),
    );
    const out: ManagedDevice[] = [];
    unique.forEach((want, i) => {
      const a = answers.get(String(i + 1));
      if (!a || a.status === 404) return;
      if (a.status !== 200) throw this.#innerError('managedDevices/{id}', a);
      const d = parse(ManagedDeviceSchema, a.body, 'GET managedDevices/{id}');
      // Re-check client-side: only the device we asked for counts.
      if (d.id.toLowerCase() === want.toLowerCase()) out.push(d);
    });
    return out;
  }

  syncDevices(ids: readonly string[]): Promise<SyncFailure[]> {
    return this.#deviceAction(ids, 'v1.0', (d) => ({ url: `/deviceManagement/managedDevices/${seg(d)}/syncDevice` }));
  }

  remediateOnDemand(ids: readonly string[], scriptPolicyId: string): Promise<SyncFailure[]> {
    // Beta only: `<Action Name="initiateOnDemandProactiveRemediation" IsBound="true">` bound to
    // graph.managedDevice with one parameter `scriptPolicyId` (Edm.String, not nullable), no
    // return type (msgraph-metadata schemas/beta-Prod.csdl); 204 No Content on success
    // (api-reference/beta/api/intune-devices-manageddevice-initiateondemandproactiveremediation.md).
    return this.#deviceAction(ids, 'beta', (d) => ({
      url: `/deviceManagement/managedDevices/${seg(d)}/initiateOnDemandProactiveRemediation`,
      headers: { 'content-type': 'application/json' },
      body: { scriptPolicyId },
    }));
  }

  /** A POST action on each device, 20 per paced `$batch` of `version`; the ones Graph did not accept. */
  async #deviceAction(
    ids: readonly string[],
    version: 'v1.0' | 'beta',
    request: (id: string) => Pick<InnerRequest, 'url' | 'headers' | 'body'>,
  ): Promise<SyncFailure[]> {
    const unique = [...new Set(ids)];
    const answers = await this.#runBatch(
      unique.map((d, i) => ({ id: String(i + 1), method: 'POST', write: true, ...request(d) })),
      version,
    );
    const failed: SyncFailure[] = [];
    unique.forEach((id, i) => {
      const a = answers.get(String(i + 1));
      const status = a?.status ?? 0;
      if (status >= 200 && status < 300) return;
      const code = (a?.body as { error?: { code?: unknown } } | undefined)?.error?.code;
      failed.push({ id, status, ...(typeof code === 'string' ? { code } : {}) });
    });
    return failed;
  }

  deviceRunStates(remediationId: string): Promise<RunState[]> {
    return this.#pages(
      `/beta/deviceManagement/deviceHealthScripts/${seg(remediationId)}/deviceRunStates?$expand=managedDevice($select=id)`,
      RunStateSchema,
      'GET deviceRunStates',
    );
  }

  stats(): GraphStats {
    return {
      requests: this.#http.requestCount,
      batchedRequests: this.#batched,
      writes: this.#writes,
      throttled: this.#throttled,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.#http.close(), this.#token.close()]);
  }
}

/** A Graph client; the pacer is passed in so every client of the run shares one budget. */
export function createGraphClient(p: GraphClientParams): GraphApi {
  return new GraphClient(p);
}
