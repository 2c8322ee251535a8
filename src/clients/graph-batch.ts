/**
 * Pure pieces of the Graph client, kept apart so they are unit-tested without a server:
 * the wire format (error body, response validation, `$batch` answers), following
 * `@odata.nextLink` safely, and running JSON `$batch` requests with per-item retry.
 */
import { z } from 'zod';
import { ResponseShapeError } from '../errors.js';
import { backoffDelay, parseRetryAfter, type RetryPolicy } from '../http/retry.js';
import type { PacerTicket } from '../http/pacer.js';

/** Graph's hard limit of requests in one `$batch` (concepts/json-batching.md; reference mdm.md §9.2). */
export const GRAPH_BATCH_MAX = 20;

/** Validates with zod and names the failing fields, never their values (they may be secrets). */
export function parse<T>(schema: z.ZodType<T>, value: unknown, call: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields = [...new Set(r.error.issues.map((i) => i.path.map(String).join('.') || '(body)'))].slice(0, 5);
  throw new ResponseShapeError('graph', call, `missing or mistyped ${fields.join(', ')}`);
}

/** Graph error body `{error:{code, message, innerError}}` (reference §11.1) → HttpError code and detail. */
export function describeGraphError(_status: number, text: string): { code?: string; message: string } {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      message: typeof e?.message === 'string' ? e.message : '',
    };
  } catch {
    return { message: '' };
  }
}

const BatchSchema = z.looseObject({
  responses: z.array(
    z.looseObject({
      id: z.string(),
      status: z.number().int(),
      headers: z.record(z.string(), z.unknown()).nullish(),
      body: z.unknown().optional(),
    }),
  ),
});

/** The items of a `$batch` answer, header names lower-cased. */
export function parseBatchResponse(text: string): InnerResponse[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ResponseShapeError('graph', 'POST $batch', 'response is not JSON');
  }
  return parse(BatchSchema, raw, 'POST $batch').responses.map((r) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {}))
      if (typeof v === 'string' || typeof v === 'number') headers[k.toLowerCase()] = String(v);
    return { id: r.id, status: r.status, headers, ...(r.body !== undefined ? { body: r.body } : {}) };
  });
}

/**
 * The request path (relative to `baseUrl`) of an `@odata.nextLink`. The link is used whole
 * (concepts/paging.md: do not rebuild it), but only on the Graph origin we were configured
 * with: a link to another host would receive our bearer token, so it is refused.
 */
export function nextLinkPath(link: string, baseUrl: string): string {
  let next: URL;
  try {
    next = new URL(link);
  } catch {
    throw new Error('graph: @odata.nextLink is not an absolute URL; refusing to follow it');
  }
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  if (next.origin !== base.origin) {
    throw new Error(
      `graph: @odata.nextLink points to ${next.protocol}//${next.host}, not the Graph origin ${base.origin}; refusing to send the token there`,
    );
  }
  if (next.username || next.password || (basePath && !next.pathname.startsWith(`${basePath}/`))) {
    throw new Error('graph: @odata.nextLink leaves the Graph base URL; refusing to follow it');
  }
  return next.pathname.slice(basePath.length) + next.search;
}

/** Splits `items` into runs of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('chunk size must be a positive integer');
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One request inside a `$batch`; `url` is relative to the version root of the `$batch` it
 * goes in (e.g. `/deviceManagement/…`): a beta action goes in a `/beta/$batch`.
 */
export interface InnerRequest {
  readonly id: string;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  /** Counts against the write budget (syncDevice, initiateOnDemandProactiveRemediation); reads do not. */
  readonly write: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body; it needs a Content-Type header in `headers` (concepts/json-batching.md). */
  readonly body?: unknown;
}

/** One item of a `$batch` answer; status 0 = the batch answered nothing for this id. */
export interface InnerResponse {
  readonly id: string;
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface BatchPolicy {
  /** Requests per `$batch`, at most {@link GRAPH_BATCH_MAX}. */
  readonly size: number;
  /** `$batch` requests in flight at once. */
  readonly concurrency: number;
  /** Attempts per item while Graph answers 429. */
  readonly throttleAttempts: number;
  /** Attempts per item while Graph answers 5xx (or nothing). */
  readonly serverErrorAttempts: number;
  /** Backoff when a 429 carries no Retry-After (Intune often omits it, reference §11.1), and for 5xx. */
  readonly backoff: RetryPolicy;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = {
  size: GRAPH_BATCH_MAX,
  concurrency: 4,
  throttleAttempts: 8,
  serverErrorAttempts: 3,
  backoff: { attempts: 8, baseDelayMs: 1_000, maxDelayMs: 32_000, maxRetryAfterMs: 150_000 },
};

export interface BatchDeps {
  /** Sends one `$batch` and returns its items (any order). */
  send(requests: readonly InnerRequest[]): Promise<readonly InnerResponse[]>;
  now(): number;
  sleep(ms: number): Promise<void>;
  random?: () => number;
  /** Write slots are taken before a batch is sent: a batch of 20 device actions takes 20. */
  pacer?: { readonly capacity: number; acquire(n: number): Promise<PacerTicket>; holdUntil(at: number): void };
  policy?: Partial<BatchPolicy>;
}

interface Pending {
  readonly req: InnerRequest;
  readonly order: number;
  readyAt: number;
  throttled: number;
  failed: number;
}

const isServerError = (s: number): boolean => s === 0 || s >= 500;

/**
 * Runs `requests` through `$batch`es and returns the final answer for each id. Graph throttles
 * each inner request on its own and the outer status stays 200 (reference §9.2), so only the
 * items answered 429 are sent again, after their own Retry-After (exponential backoff with
 * jitter when it is missing); 5xx items are retried a bounded number of times; every other
 * status (204, 404 device gone, 403, …) is final and returned to the caller.
 */
export async function runBatches(
  requests: readonly InnerRequest[],
  deps: BatchDeps,
): Promise<Map<string, InnerResponse>> {
  const policy = { ...DEFAULT_BATCH_POLICY, ...deps.policy };
  const size = Math.max(1, Math.min(GRAPH_BATCH_MAX, policy.size, deps.pacer?.capacity ?? GRAPH_BATCH_MAX));
  const random = deps.random ?? Math.random;
  const results = new Map<string, InnerResponse>();
  const queue: Pending[] = requests.map((req, order) => ({ req, order, readyAt: 0, throttled: 0, failed: 0 }));
  let failure: { error: unknown } | undefined;

  const takeReady = (now: number): Pending[] => {
    queue.sort((a, b) => a.readyAt - b.readyAt || a.order - b.order);
    let n = 0;
    while (n < queue.length && n < size && (queue[n]?.readyAt ?? Infinity) <= now) n++;
    return queue.splice(0, n);
  };

  const settle = (p: Pending, answer: InnerResponse | undefined): void => {
    const now = deps.now();
    const status = answer?.status ?? 0;
    if (status === 429 && p.throttled + 1 < policy.throttleAttempts) {
      p.throttled++;
      const after =
        parseRetryAfter(answer?.headers['retry-after'], now) ?? backoffDelay(policy.backoff, p.throttled, random);
      if (after <= policy.backoff.maxRetryAfterMs) {
        p.readyAt = now + after;
        // The app's budget is spent: hold every write, not only this one (reference §11.1).
        if (p.req.write) deps.pacer?.holdUntil(p.readyAt);
        queue.push(p);
        return;
      }
    } else if (isServerError(status) && p.failed + 1 < policy.serverErrorAttempts) {
      p.failed++;
      p.readyAt = now + backoffDelay(policy.backoff, p.failed, random);
      queue.push(p);
      return;
    }
    results.set(p.req.id, answer ?? { id: p.req.id, status: 0, headers: {} });
  };

  const worker = async (): Promise<void> => {
    while (queue.length > 0 && !failure) {
      const now = deps.now();
      const ready = takeReady(now);
      if (ready.length === 0) {
        const next = queue[0]?.readyAt ?? now;
        await deps.sleep(Math.max(1, next - now));
        continue;
      }
      const writes = ready.filter((p) => p.req.write).length;
      let answers: readonly InnerResponse[];
      const ticket = writes > 0 && deps.pacer ? await deps.pacer.acquire(writes) : undefined;
      try {
        answers = await deps.send(ready.map((p) => p.req));
      } catch (error) {
        failure ??= { error };
        return;
      } finally {
        ticket?.done();
      }
      const byId = new Map(answers.map((a) => [a.id, a]));
      for (const p of ready) settle(p, byId.get(p.req.id));
    }
  };

  const workers = Math.max(1, Math.min(policy.concurrency, Math.ceil(requests.length / size)));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return results;
}
