/**
 * Graph JSON batching (`POST /{version}/$batch`, reference/mdm.md §9.2) and the call/result
 * shapes shared with the Graph router: each item runs through the same router as a direct
 * request, so it is authorised, throttled and fault-injected individually.
 */
import type { Faults } from './http.js';
import { isRecord, type Rng } from './util.js';

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  header(n: string): string | undefined;
  body: unknown;
}
export interface Result {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Graph's error body: `{error:{code, message, innerError:{date, request-id, client-request-id}}}`. */
export function gerr(status: number, code: string, message: string, headers: Record<string, string> = {}): Result {
  const innerError = {
    date: new Date().toISOString().replace(/\.\d+Z$/, ''),
    'request-id': crypto.randomUUID(),
    'client-request-id': crypto.randomUUID(),
  };
  return { status, headers, body: { error: { code, message, innerError } } };
}

export interface BatchOptions {
  faults: Faults;
  rng: Rng;
  shuffle: boolean;
}

export function runBatch(ver: string, c: Call, exec: (call: Call) => Result, o: BatchOptions): Result {
  const reqs = isRecord(c.body) ? c.body['requests'] : undefined;
  if (!Array.isArray(reqs) || reqs.length === 0) return gerr(400, 'BadRequest', 'Invalid batch payload format.');
  if (reqs.length > 20)
    return gerr(400, 'BadRequest', `Batch request exceeds the maximum of 20 requests (got ${reqs.length}).`);
  const ids = new Set<string>();
  for (const r of reqs) {
    if (
      !isRecord(r) ||
      typeof r['id'] !== 'string' ||
      r['id'] === '' ||
      typeof r['method'] !== 'string' ||
      typeof r['url'] !== 'string'
    ) {
      return gerr(400, 'BadRequest', 'Invalid batch payload format: each request needs id, method and url.');
    }
    if (ids.has(r['id'])) return gerr(400, 'BadRequest', `Batch request contains duplicate request id '${r['id']}'.`);
    ids.add(r['id']);
    const h = isRecord(r['headers']) ? r['headers'] : {};
    if (r['body'] !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      return gerr(400, 'BadRequest', `Request '${r['id']}' has a body but no Content-Type header.`);
    }
  }
  const status = new Map<string, number>();
  const responses = (reqs as Record<string, unknown>[]).map((r) => {
    const id = String(r['id']);
    const res = item(ver, r, c, status, exec, o.faults);
    status.set(id, res.status);
    const out: Record<string, unknown> = {
      id,
      status: res.status,
      headers: { ...(res.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...res.headers },
    };
    if (res.body !== undefined) out['body'] = res.body;
    return out;
  });
  // Graph may answer items in any order; callers must match on id.
  if (o.shuffle) {
    for (let i = responses.length - 1; i > 0; i--) {
      const j = o.rng.int(i + 1);
      [responses[i], responses[j]] = [responses[j] as Record<string, unknown>, responses[i] as Record<string, unknown>];
    }
  }
  return { status: 200, body: { responses } };
}

function item(
  ver: string,
  r: Record<string, unknown>,
  outer: Call,
  status: Map<string, number>,
  exec: (call: Call) => Result,
  faults: Faults,
): Result {
  const deps = Array.isArray(r['dependsOn']) ? r['dependsOn'].map(String) : [];
  if (deps.some((d) => (status.get(d) ?? 424) >= 400))
    return gerr(424, 'FailedDependency', 'A dependency of this request failed.');
  const url = String(r['url']);
  if (/^[a-z]+:\/\//i.test(url)) return gerr(400, 'BadRequest', 'Batch request URLs must be relative.');
  const u = new URL(url.startsWith('/') ? url : `/${url}`, 'http://graph.invalid');
  let path = u.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    /* keep raw */
  }
  const full = `/${ver}${path}`;
  const method = String(r['method']).toUpperCase();
  // Items have no socket of their own: only status faults apply to them.
  const fault = faults.match('graph', method, [full], true);
  const faulted = (): Result | undefined =>
    fault && 'status' in fault.respond
      ? { status: fault.respond.status, headers: fault.respond.headers ?? {}, body: parseMaybe(fault.respond.body) }
      : undefined;
  if (fault && !fault.after) return faulted() ?? gerr(500, 'InternalServerError', 'fault');
  const h = isRecord(r['headers']) ? r['headers'] : {};
  const res = exec({
    method,
    path: full,
    query: u.searchParams,
    body: r['body'],
    header: (n) => {
      const k = Object.keys(h).find((x) => x.toLowerCase() === n.toLowerCase());
      return k !== undefined ? String(h[k]) : n === 'authorization' ? outer.header(n) : undefined;
    },
  });
  return faulted() ?? res;
}

function parseMaybe(body: string | undefined): unknown {
  if (body === undefined || body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}
