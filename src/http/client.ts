import { isAscii } from 'node:buffer';
import { log } from '../log.js';
import { EnvHttpProxyAgent, request, type Dispatcher } from './undici.js';
import { HttpError, InvariantError, type SystemName } from '../errors.js';
import { redact } from '../secrets.js';
import { assertCredentialHost } from './allowed-hosts.js';
import {
  DEFAULT_STREAM_LIMITS,
  JsonArraySplitter,
  JsonStreamError,
  JsonStreamLimit,
  type StreamLimits,
} from './json-stream.js';
import { DEFAULT_RETRY, RETRYABLE_STATUSES, backoffDelay, parseRetryAfter, type RetryPolicy } from './retry.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  readonly method: Method;
  /** Path and query relative to the base URL; ids already percent-encoded (see `seg`). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** false for calls that must never be repeated (key creation: a repeat can mint a second key). Default true. */
  readonly retry?: boolean;
  /** Extra statuses that are an answer, not an error (e.g. 404 on DELETE). */
  readonly okStatuses?: readonly number[];
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body; empty when a 2xx body was consumed by `stream` instead. */
  readonly text: string;
  /** What `stream` returned for a 2xx answer. */
  readonly streamed?: unknown;
}

/** Consumes a 2xx body as it arrives (called afresh per attempt: a retried request starts over). */
export type BodyConsumer = (body: AsyncIterable<Buffer>) => Promise<unknown>;

/** A JSON object whose big arrays were streamed: the elements as `each` made them, the rest of the object. */
export interface StreamedJson<T> {
  readonly items: T[];
  readonly rest: Record<string, unknown>;
  /** Size of the body in bytes. */
  readonly bytes: number;
}

/** Supplies auth headers; `invalidate` is called once on a 401 so an expired token is re-minted. */
export interface AuthSource {
  headers(): Promise<Record<string, string>>;
  invalidate?(): void;
}

export interface HttpClientOptions {
  readonly system: SystemName;
  readonly baseUrl: string;
  readonly userAgent: string;
  /** Connections per origin; Jamf asks for at most 5. */
  readonly maxConnections?: number;
  readonly timeoutMs?: number;
  /** Responses read whole that are larger than this are refused (a hostile or broken server); default 32 MiB. */
  readonly maxResponseBytes?: number;
  /**
   * Responses consumed as they arrive (`jsonArrays`, a `stream` consumer) are never held whole:
   * what bounds them is what is kept (json-stream.ts StreamLimits, per listing) and, against a
   * server that never stops, this ceiling on the bytes read (default {@link MAX_STREAMED_BYTES}).
   */
  readonly maxStreamedBytes?: number;
  /** Limits of `jsonArrays` listings (default DEFAULT_STREAM_LIMITS). */
  readonly streamLimits?: StreamLimits;
  readonly retry?: RetryPolicy;
  readonly auth?: AuthSource;
  /** Cookie names to keep between requests (Jamf Cloud sticky sessions). */
  readonly stickyCookies?: readonly string[];
  /** Turns an error body into a short message; its output is redacted again. */
  readonly describeError?: (status: number, text: string, contentType: string) => { code?: string; message: string };
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Default of `maxResponseBytes`: a body read whole. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/**
 * Default of `maxStreamedBytes`: 512 MiB, room for a 700,000-endpoint control-plane listing
 * (~730 bytes a row). Memory does not grow with it: see StreamLimits.
 */
export const MAX_STREAMED_BYTES = 512 * 1024 * 1024;

/** The body grew past its limit: a hostile or broken server; refused, not retried. */
class ResponseTooLarge extends Error {}

/** The caller refused a streamed element: its error is final, not a network failure to retry. */
class ElementRefused {
  constructor(readonly error: unknown) {}
}

/** A BodyConsumer for `HttpClient.send` that yields a {@link StreamedJson} (see `jsonArrays`). */
export function streamJsonArrays<T>(
  arrays: readonly string[],
  each: (element: unknown, array: string, index: number) => T,
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): BodyConsumer {
  return async (body) => {
    const items: T[] = [];
    const splitter = new JsonArraySplitter(
      arrays,
      (el, array, index) => {
        try {
          items.push(each(el, array, index));
        } catch (e) {
          throw new ElementRefused(e);
        }
      },
      limits,
    );
    const decoder = new TextDecoder('utf-8');
    let bytes = 0;
    // Listings are nearly always pure ASCII. Until a chunk holds a byte past it, no UTF-8 sequence
    // can be cut at a chunk's end, so each chunk is its own text: a latin1 copy (bytes straight
    // into a one-byte string) instead of UTF-8 decoding, a fifth of a 70 MB listing's read time.
    let ascii = true;
    for await (const chunk of body) {
      bytes += chunk.length;
      if (ascii && isAscii(chunk)) splitter.write(chunk.toString('latin1'));
      else {
        ascii = false;
        splitter.write(decoder.decode(chunk, { stream: true }));
      }
    }
    splitter.write(decoder.decode());
    return { items, rest: splitter.end(), bytes } satisfies StreamedJson<T>;
  };
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Percent-encode one path segment (ids from intents and API responses). */
export function seg(id: string | number): string {
  return encodeURIComponent(String(id));
}

/**
 * One HTTP client per external system: base URL, user agent, timeouts, bounded
 * connections, retries with backoff and Retry-After, and errors that name the
 * system, call and status but never a secret or a request body.
 */
export class HttpClient {
  readonly system: SystemName;
  readonly #opts: HttpClientOptions;
  readonly #dispatcher: Dispatcher;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #cookies = new Map<string, string>();
  /** Requests sent, for the benchmark and debug lines. */
  requestCount = 0;
  /** 429 answers received, for the progress heartbeat. */
  throttled = 0;

  constructor(opts: HttpClientOptions) {
    this.system = opts.system;
    this.#opts = opts;
    // Every system but GitHub carries a credential an intent must not steer (spec §9); GitHub's URL
    // is the runner's GITHUB_API_URL, which no intent can change.
    if (opts.system !== 'github') assertCredentialHost(opts.system, opts.baseUrl);
    const url = new URL(opts.baseUrl);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
    // Honours HTTPS_PROXY/NO_PROXY like the runner's own tools; loopback is never proxied.
    this.#dispatcher = new EnvHttpProxyAgent({
      connections: opts.maxConnections ?? 8,
      noProxy: [process.env['NO_PROXY'] ?? process.env['no_proxy'] ?? '', 'localhost,127.0.0.1,::1']
        .filter(Boolean)
        .join(','),
    });
  }

  async send(req: HttpRequest, stream?: BodyConsumer): Promise<HttpResponse> {
    const policy = this.#opts.retry ?? DEFAULT_RETRY;
    const sleep = this.#opts.sleep ?? sleepReal;
    const attempts = req.retry === false ? 1 : policy.attempts;
    const url = this.#url(req);
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      const started = Date.now();
      try {
        res = await this.#once(url, req, stream);
        // The request trace of ACTIONS_STEP_DEBUG: no query values, no bodies.
        log.debug(
          `${this.system}: ${req.method} ${this.#tracePath(req)} → ${res.status} in ${Date.now() - started} ms${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
        );
        if (res.status === 429) this.throttled++;
      } catch (e) {
        // An answer we refused (oversized) is final: asking again would only fetch it again.
        if (e instanceof HttpError) throw e;
        if (e instanceof ElementRefused) throw e.error;
        const err = this.#transportError(req, e);
        if (attempt >= attempts) throw err;
        log.debug(
          `${this.system}: ${req.method} ${this.#logPath(req)} network error, retry ${attempt}/${attempts - 1}`,
        );
        await sleep(backoffDelay(policy, attempt));
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || req.okStatuses?.includes(res.status)) return res;
      if (res.status === 401 && this.#opts.auth?.invalidate && !reauthed) {
        // An OAuth token can expire between our clock check and the server's; re-mint once.
        reauthed = true;
        this.#opts.auth.invalidate();
        attempt--;
        continue;
      }
      const retryable = RETRYABLE_STATUSES.has(res.status);
      if (retryable && attempt < attempts) {
        const after = parseRetryAfter(res.headers['retry-after'], Date.now());
        if (after === undefined || after <= policy.maxRetryAfterMs) {
          const wait = after ?? backoffDelay(policy, attempt);
          log.debug(
            `${this.system}: ${req.method} ${this.#logPath(req)} HTTP ${res.status}, retry ${attempt}/${attempts - 1} in ${wait} ms`,
          );
          await sleep(wait);
          continue;
        }
      }
      throw this.#statusError(req, res, retryable);
    }
  }

  /** Send and parse a JSON body (empty body → undefined). */
  async json(req: HttpRequest): Promise<unknown> {
    const res = await this.send({ ...req, headers: { accept: 'application/json', ...req.headers } });
    if (res.text.trim() === '') return undefined;
    try {
      return JSON.parse(res.text);
    } catch {
      throw new HttpError({
        system: this.system,
        method: req.method,
        path: this.#logPath(req),
        status: res.status,
        detail: 'response is not JSON',
        retryable: false,
      });
    }
  }

  /**
   * Send and read a JSON object whose arrays named in `arrays` can be large (listings): each
   * element is parsed as it arrives and handed to `each`, which keeps only what the caller
   * needs (see json-stream.ts). An element `each` throws on fails the call, unretried.
   */
  async jsonArrays<T>(
    req: HttpRequest,
    arrays: readonly string[],
    each: (element: unknown, array: string, index: number) => T,
  ): Promise<StreamedJson<T>> {
    const res = await this.send(
      { ...req, headers: { accept: 'application/json', ...req.headers } },
      streamJsonArrays(arrays, each, this.#opts.streamLimits),
    );
    return res.streamed as StreamedJson<T>;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /**
   * The request's URL. A path is relative to the base URL; one that would change the origin
   * (`@host`, `:port`, `.host`: anything not starting with "/") would carry the credentials to a
   * host nobody allowed, so it is refused.
   */
  #url(req: HttpRequest): string {
    const url = this.#origin + this.#basePath + req.path;
    if (!req.path.startsWith('/') || new URL(url).origin !== this.#origin) {
      throw new InvariantError(
        `${this.system}: request path ${JSON.stringify(req.path.slice(0, 80))} leaves ${this.#origin}; refused`,
      );
    }
    return url;
  }

  async #once(url: string, req: HttpRequest, stream: BodyConsumer | undefined): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      'user-agent': this.#opts.userAgent,
      ...(this.#opts.auth ? await this.#opts.auth.headers() : {}),
      ...req.headers,
    };
    if (req.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    if (this.#cookies.size > 0) headers['cookie'] = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    this.requestCount++;
    const timeout = this.#timeoutMs();
    // No redirect is followed: undici 7 follows one only through its redirect interceptor.
    const res = await request(this.#dispatcher, url, {
      method: req.method,
      headers,
      body: req.body ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    this.#keepCookies(res.headers['set-cookie']);
    const refused = (e: unknown): never => {
      // A body we refused (too large, not the JSON expected) is final: asking again would fetch it again.
      const detail =
        e instanceof ResponseTooLarge
          ? e.message
          : e instanceof JsonStreamLimit
            ? `response refused: ${e.message}`
            : e instanceof JsonStreamError
              ? `response is not the JSON expected (${e.message})`
              : undefined;
      if (detail === undefined) throw e;
      throw new HttpError({
        system: this.system,
        method: req.method,
        path: this.#logPath(req),
        status: res.statusCode,
        detail,
        retryable: false,
      });
    };
    if (stream && res.statusCode >= 200 && res.statusCode < 300) {
      const streamed = await stream(this.#limited(res.body, this.#opts.maxStreamedBytes ?? MAX_STREAMED_BYTES)).catch(
        refused,
      );
      return { status: res.statusCode, headers: flat, text: '', streamed };
    }
    const chunks: Buffer[] = [];
    await (async () => {
      for await (const chunk of this.#limited(res.body, this.#opts.maxResponseBytes ?? MAX_RESPONSE_BYTES))
        chunks.push(chunk);
    })().catch(refused);
    return { status: res.statusCode, headers: flat, text: Buffer.concat(chunks).toString('utf8') };
  }

  /** The body's chunks, refused past `max` bytes (a hostile or broken server). */
  async *#limited(body: Dispatcher.ResponseData['body'], max: number): AsyncIterable<Buffer> {
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        body.destroy();
        throw new ResponseTooLarge(`response larger than ${max} bytes refused`);
      }
      yield chunk as Buffer;
    }
  }

  /** What the client asked for, else 30 s. Tests shorten it per client (unit) or make the simulator drop the connection (e2e); the bundle reads no knob. */
  #timeoutMs(): number {
    return this.#opts.timeoutMs ?? 30_000;
  }

  #keepCookies(setCookie: string | string[] | undefined): void {
    const names = this.#opts.stickyCookies;
    if (!names || !setCookie) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      if (names.includes(name)) this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  /** The path for messages: no query string (it may carry filters with many ids). */
  #logPath(req: HttpRequest): string {
    return this.#basePath + req.path.split('?')[0];
  }

  /** The path with each query parameter's name but not its value (filters carry ids and names). */
  #tracePath(req: HttpRequest): string {
    const [path, query] = req.path.split('?', 2);
    if (!query) return this.#basePath + path;
    const names = query.split('&').map((kv) => `${kv.split('=', 1)[0]}=…`);
    return `${this.#basePath}${path}?${names.join('&')}`;
  }

  #transportError(req: HttpRequest, e: unknown): HttpError {
    const cause = e as { code?: string; name?: string; message?: string };
    const what =
      cause.name === 'TimeoutError' || cause.code === 'UND_ERR_HEADERS_TIMEOUT' || cause.code === 'UND_ERR_BODY_TIMEOUT'
        ? `no answer within ${this.#timeoutMs()} ms`
        : (cause.code ?? cause.message ?? 'connection failed');
    return new HttpError({
      system: this.system,
      method: req.method,
      path: this.#logPath(req),
      status: 0,
      detail: redact(String(what)),
      retryable: true,
    });
  }

  #statusError(req: HttpRequest, res: HttpResponse, retryable: boolean): HttpError {
    let code: string | undefined;
    let message = '';
    try {
      const d = this.#opts.describeError?.(res.status, res.text, res.headers['content-type'] ?? '');
      code = d?.code;
      message = d?.message ?? '';
    } catch {
      message = '';
    }
    if (res.status === 403 && /text\/html/i.test(res.headers['content-type'] ?? '') && this.system !== 'jamf') {
      message = 'blocked by a WAF or ingress (HTML 403); check the URL and network path';
    }
    message = redact(message.replace(/\s+/g, ' ').trim()).slice(0, 300);
    return new HttpError({
      system: this.system,
      method: req.method,
      path: this.#logPath(req),
      status: res.status,
      code,
      detail: message,
      retryable,
    });
  }
}
