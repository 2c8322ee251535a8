/**
 * Shared HTTP machinery for the simulators: one node:http server per system, with request
 * logging, fault injection, latency injection and in-flight (concurrency) accounting.
 * Each system module only supplies a `Handler` that maps a parsed request to a response.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SystemName = 'thoth' | 'jamf' | 'graph' | 'login' | 'github';

export interface SimRequest {
  readonly method: string;
  /** Decoded pathname (`%2F` → `/`); `rawPath` keeps the bytes as received. */
  readonly path: string;
  readonly rawPath: string;
  readonly query: URLSearchParams;
  readonly rawQuery: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  header(name: string): string | undefined;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export type Handler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export interface LogEntry {
  seq: number;
  system: SystemName;
  method: string;
  path: string;
  query: string;
  /** 0 while in flight, and for requests answered by a reset or a hang. */
  status: number;
  at: number;
  durationMs: number;
  headers: Record<string, string>;
  bodyText?: string;
}

const REDACTED_HEADERS = new Set(['authorization', 'x-api-key']);

export class RequestLog {
  private list: LogEntry[] = [];
  /** Every request since the simulators started; `clear()` leaves it alone (the test oracle reads it). */
  private all: LogEntry[] = [];
  private muts = new WeakSet<LogEntry>();
  private seq = 0;
  private inflight = new Map<SystemName, number>();
  private peak = new Map<SystemName, number>();

  entries(): LogEntry[] {
    return [...this.list];
  }
  history(): LogEntry[] {
    return [...this.all];
  }
  /** State-changing request kinds, whatever their outcome (filter on `status` for successes). */
  mutations(): LogEntry[] {
    return this.list.filter((e) => this.muts.has(e));
  }
  clear(): void {
    this.list = [];
    this.peak = new Map(this.inflight);
  }
  /** Peak simultaneous in-flight requests seen by one system since start (or the last clear). */
  maxConcurrent(system: SystemName): number {
    return this.peak.get(system) ?? 0;
  }

  /** @internal */
  begin(system: SystemName, req: SimRequest, mutation: boolean): LogEntry {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      headers[k] = REDACTED_HEADERS.has(k) ? '<redacted>' : Array.isArray(v) ? v.join(', ') : v;
    }
    const entry: LogEntry = {
      seq: ++this.seq,
      system,
      method: req.method,
      path: req.path,
      query: req.rawQuery,
      status: 0,
      at: Date.now(),
      durationMs: 0,
      headers,
    };
    if (req.body.length > 0) entry.bodyText = req.text;
    this.list.push(entry);
    this.all.push(entry);
    if (mutation) this.muts.add(entry);
    return entry;
  }
  /** @internal */
  enter(system: SystemName): void {
    const n = (this.inflight.get(system) ?? 0) + 1;
    this.inflight.set(system, n);
    if (n > (this.peak.get(system) ?? 0)) this.peak.set(system, n);
  }
  /** @internal */
  leave(system: SystemName): void {
    this.inflight.set(system, Math.max(0, (this.inflight.get(system) ?? 1) - 1));
  }
}

export type FaultAction =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { reset: true }
  | { hangMs: number };

export interface FaultRule {
  system: SystemName;
  method?: string;
  /** Exact string or RegExp, tested against the decoded and the raw path (no query). */
  path: string | RegExp;
  /** Tested against the decoded query string (without `?`); absent: any query. */
  query?: RegExp;
  /** 1-based index among matching requests at which the fault starts (default 1). */
  nth?: number;
  /** How many matching requests it hits (default 1; Infinity = persistent). */
  times?: number;
  /** Run the handler first (state changes), then answer with the fault: a lost response. */
  after?: boolean;
  respond: FaultAction;
}

interface ArmedRule {
  rule: FaultRule;
  seen: number;
  fired: number;
}

export class Faults {
  private rules: ArmedRule[] = [];
  add(rule: FaultRule): void {
    this.rules.push({ rule, seen: 0, fired: 0 });
  }
  clear(): void {
    this.rules = [];
  }
  /**
   * @internal Counts this request against every matching rule and returns the first that fires.
   * `statusOnly` is for requests that have no socket of their own (Graph $batch items):
   * reset/hang rules neither match nor count there.
   */
  match(
    system: SystemName,
    method: string,
    paths: readonly string[],
    statusOnly = false,
    query = '',
  ): FaultRule | undefined {
    let hit: FaultRule | undefined;
    for (const armed of this.rules) {
      const { rule } = armed;
      if (rule.system !== system) continue;
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (statusOnly && !('status' in rule.respond)) continue;
      const p = rule.path;
      const ok = paths.some((x) => (typeof p === 'string' ? p === x : ((p.lastIndex = 0), p.test(x))));
      if (!ok) continue;
      if (rule.query && ((rule.query.lastIndex = 0), !rule.query.test(query))) continue;
      armed.seen++;
      if (!hit && armed.seen >= (rule.nth ?? 1) && armed.fired < (rule.times ?? 1)) {
        armed.fired++;
        hit = rule;
      }
    }
    return hit;
  }
}

export interface ServerOptions {
  system: SystemName;
  handler: Handler;
  log: RequestLog;
  faults: Faults;
  latencyMs: number;
  isMutation: (req: SimRequest) => boolean;
  maxBodyBytes?: number;
}

export interface SimServer {
  url: string;
  close(): Promise<void>;
}

export function delay(ms: number, timers?: Set<NodeJS.Timeout>): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers?.delete(t);
      resolve();
    }, ms);
    t.unref();
    timers?.add(t);
  });
}

/** Percent-decoded where it decodes, raw where it does not (a path, or a query as a fault rule reads it). */
function decoded(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export async function startServer(opts: ServerOptions): Promise<SimServer> {
  const { system, log, faults } = opts;
  const maxBody = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    log.enter(system);
    res.on('close', () => log.leave(system));
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      void serve(req, res, Buffer.concat(chunks), tooBig);
    });
    req.on('error', () => res.destroy());
  });

  async function serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    tooBig: boolean,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const rawPath = url.pathname;
    const sreq: SimRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: decoded(rawPath),
      rawPath,
      query: url.searchParams,
      rawQuery: url.search.replace(/^\?/, ''),
      headers: req.headers,
      body,
      text: body.toString('utf8'),
      header(name) {
        const v = req.headers[name.toLowerCase()];
        return Array.isArray(v) ? v.join(', ') : v;
      },
    };
    const entry = log.begin(system, sreq, opts.isMutation(sreq));
    const started = Date.now();
    res.on('close', () => {
      entry.durationMs = Date.now() - started;
      if (res.headersSent) entry.status = res.statusCode;
    });
    await delay(opts.latencyMs, timers);
    if (tooBig) return send(res, { status: 413, headers: { 'content-type': 'text/plain' }, body: 'Payload Too Large' });

    const fault = faults.match(system, sreq.method, [sreq.path, sreq.rawPath], false, decoded(sreq.rawQuery));
    if (fault && !fault.after) return applyFault(res, fault);
    let out: SimResponse;
    try {
      out = await opts.handler(sreq);
    } catch (err) {
      out = {
        status: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'internal', message: String(err) }),
      };
    }
    if (fault) return applyFault(res, fault);
    send(res, out);
  }

  function applyFault(res: http.ServerResponse, rule: FaultRule): void {
    const a = rule.respond;
    if ('reset' in a) {
      const s = res.socket;
      // resetAndDestroy sends a TCP RST (ECONNRESET on the client), like a dropped LB connection.
      if (s && typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else s?.destroy();
      return;
    }
    if ('hangMs' in a) {
      // Never answer: after hangMs drop the connection (the client normally times out first).
      void delay(a.hangMs, timers).then(() => res.socket?.destroy());
      return;
    }
    send(res, { status: a.status, headers: a.headers ?? {}, body: a.body ?? '' });
  }

  function send(res: http.ServerResponse, out: SimResponse): void {
    if (res.destroyed) return;
    const body = out.body ?? '';
    res.writeHead(out.status, { ...out.headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- response helpers -------------------------------------------------------------------

export function json(status: number, value: unknown, headers: Record<string, string | string[]> = {}): SimResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(value),
  };
}

export function xml(status: number, text: string, headers: Record<string, string | string[]> = {}): SimResponse {
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8', ...headers }, body: text };
}

export function empty(status: number, headers: Record<string, string | string[]> = {}): SimResponse {
  return { status, headers };
}

/** Parses a JSON body; `undefined` when absent or malformed (callers answer 400). */
export function parseJson(req: SimRequest): unknown {
  if (req.text.trim() === '') return undefined;
  try {
    return JSON.parse(req.text) as unknown;
  } catch {
    return undefined;
  }
}

export function parseForm(req: SimRequest): URLSearchParams {
  return new URLSearchParams(req.text);
}

/** Bearer token from the Authorization header, if any. */
export function bearer(req: SimRequest): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
  return m?.[1];
}
