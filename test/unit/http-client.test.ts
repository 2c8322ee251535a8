/**
 * The HTTP client against hostile servers (issue #6, item 4): oversized and endless bodies,
 * redirects to other hosts, answers that never come; and no test knob in the bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpError } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { DEFAULT_RETRY } from '../../src/http/retry.js';

interface Server {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Server> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(
      `${req.method} ${req.url} auth=${req.headers['authorization'] ?? ''} key=${req.headers['x-api-key'] ?? ''}`,
    );
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const s: Server = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  servers.push(s);
  return s;
}

const noSleep = async () => undefined;
function client(url: string, o: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}): HttpClient {
  return new HttpClient({
    system: 'thoth',
    baseUrl: url,
    userAgent: 'test',
    sleep: noSleep,
    auth: { headers: async () => ({ 'x-api-key': 'org-key-secret-value' }) },
    ...o,
  });
}

describe('HttpClient refuses what a hostile server sends', () => {
  it('a body over maxResponseBytes is refused, once, without retrying', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pad: 'x'.repeat(64 * 1024) }));
    });
    const c = client(s.url, { maxResponseBytes: 16 * 1024 });
    const err = await c.send({ method: 'GET', path: '/big' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(/larger than 16384 bytes refused/);
    expect((err as HttpError).retryable).toBe(false);
    expect(s.hits).toHaveLength(1);
    await c.close();
  });

  it('an endless body is cut off at the limit (bounded memory and time)', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('error', () => undefined);
      pump();
    });
    const c = client(s.url, { maxResponseBytes: 1024 * 1024 });
    const before = process.memoryUsage().rss;
    const err = await c.json({ method: 'GET', path: '/endless' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(String((err as Error).message)).toMatch(/refused/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    await c.close();
  });

  it('the default limit applies when none is given (32 MiB)', async () => {
    const s = await serve((_q, res) => {
      res.writeHead(200, { 'content-length': String(33 * 1024 * 1024) });
      const chunk = Buffer.alloc(1024 * 1024, 0x62);
      let sent = 0;
      const pump = (): void => {
        while (sent < 33 && res.write(chunk)) sent++;
        if (sent < 33 && !res.destroyed) res.once('drain', pump);
        else res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    const c = client(s.url);
    await expect(c.send({ method: 'GET', path: '/huge' })).rejects.toThrow(/larger than 33554432 bytes refused/);
    await c.close();
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`a ${status} redirect to another host is not followed and the credential goes nowhere else`, async () => {
      const other = await serve((_q, res) => res.end('{"stolen":true}'));
      const s = await serve((_q, res) => {
        res.writeHead(status, { location: `${other.url}/collect` });
        res.end();
      });
      const c = client(s.url);
      const err = await c.send({ method: 'POST', path: '/api-keys', body: '{}' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(status);
      expect((err as HttpError).retryable).toBe(false);
      expect(other.hits).toEqual([]);
      expect(s.hits).toHaveLength(1);
      await c.close();
    });
  }

  it('a same-host redirect is not followed either (the answer is the 3xx)', async () => {
    const s = await serve((q, res) => {
      if (q.url === '/moved') {
        res.end('{"ok":true}');
        return;
      }
      res.writeHead(302, { location: '/moved' });
      res.end();
    });
    const c = client(s.url);
    await expect(c.send({ method: 'GET', path: '/start' })).rejects.toMatchObject({ status: 302 });
    expect(s.hits.map((h) => h.split(' ')[1])).toEqual(['/start']);
    await c.close();
  });

  it('an answer that never comes fails after the timeout, and is retried', async () => {
    const s = await serve(() => undefined);
    const c = client(s.url, { timeoutMs: 150, retry: { ...DEFAULT_RETRY, attempts: 2 } });
    const err = await c.send({ method: 'GET', path: '/hang' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(/no answer within 150 ms/);
    expect((err as HttpError).status).toBe(0);
    expect(s.hits).toHaveLength(2);
    await c.close();
  });

  it('a request marked retry:false is sent once, whatever happens', async () => {
    const s = await serve((q) => q.socket.destroy());
    const c = client(s.url);
    await expect(c.send({ method: 'POST', path: '/api-keys', body: '{}', retry: false })).rejects.toBeInstanceOf(
      HttpError,
    );
    expect(s.hits).toHaveLength(1);
    await c.close();
  });

  it('a failing token request is reported as itself, not retried again as a "network error" of the call', async () => {
    const s = await serve((_q, res) => res.end('{}'));
    let mints = 0;
    const c = client(s.url, {
      auth: {
        headers: async () => {
          mints++;
          throw new HttpError({
            system: 'jamf',
            method: 'POST',
            path: '/api/v1/oauth/token',
            status: 401,
            code: 'invalid_client',
            detail: 'bad secret',
            retryable: false,
          });
        },
      },
    });
    const err = (await c.send({ method: 'GET', path: '/x' }).catch((e: unknown) => e)) as HttpError;
    expect(err.message).toMatch(/^jamf: HTTP 401 invalid_client on POST \/api\/v1\/oauth\/token/);
    expect(mints).toBe(1);
    expect(s.hits).toEqual([]);
    await c.close();
  });

  it('a server echoing the credential in its error does not get it into the message', async () => {
    const s = await serve((q, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad', message: `key ${q.headers['x-api-key']} rejected` }));
    });
    const { registerSecret } = await import('../../src/secrets.js');
    registerSecret('org-key-secret-value');
    const c = client(s.url, {
      describeError: (_s, t) => ({ message: (JSON.parse(t) as { message: string }).message }),
    });
    const err = (await c.send({ method: 'GET', path: '/x' }).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('org-key-secret-value');
    expect(err.message).toContain('***');
    await c.close();
  });
});

describe('HttpClient through a proxy (self-hosted runners behind one)', () => {
  // The client loads undici's agent and request API file by file (src/http/undici.ts); a proxy
  // agent opens its tunnel with connect(), which only undici's index used to attach.
  afterEach(() => vi.unstubAllEnvs());

  /** A CONNECT proxy on loopback: `tunnel` says where a CONNECT goes (a port), or undefined to refuse it. */
  async function connectProxy(tunnel: (hostPort: string) => number | undefined) {
    const tunnels: string[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const port = tunnel(req.url ?? '');
      if (port === undefined) return void socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      const upstream = net.connect(port, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      tunnels,
      close: async () => {
        proxy.closeAllConnections();
        await new Promise<void>((r) => proxy.close(() => r()));
      },
    };
  }

  // GitHub's client is the one whose host no allow-list checks; the names are not loopback (loopback
  // is never proxied) and only the proxy can reach them.
  it('HTTP_PROXY is honoured: the request goes through a CONNECT tunnel, and the answer comes back', async () => {
    const target = await serve((_req, res) => res.end('{"ok":true}'));
    const proxy = await connectProxy(() => Number(new URL(target.url).port));
    try {
      vi.stubEnv('HTTP_PROXY', proxy.url);
      const c = client('http://api.github.internal.test', { system: 'github' });
      expect(await c.json({ method: 'GET', path: '/repos/o/r' })).toEqual({ ok: true });
      await c.close();
      expect(proxy.tunnels).toEqual(['api.github.internal.test:80']);
      expect(target.hits).toEqual(['GET /repos/o/r auth= key=org-key-secret-value']);
    } finally {
      await proxy.close();
    }
  });

  it('HTTPS_PROXY is honoured for an https host: the tunnel is asked for host:443, and a refused one fails the call', async () => {
    const proxy = await connectProxy(() => undefined);
    try {
      vi.stubEnv('HTTPS_PROXY', proxy.url);
      const c = client('https://api.github.internal.test', { system: 'github' });
      await expect(c.json({ method: 'GET', path: '/repos/o/r', retry: false })).rejects.toThrow(/github/);
      await c.close();
      expect(proxy.tunnels).toEqual(['api.github.internal.test:443']);
    } finally {
      await proxy.close();
    }
  });
});

describe('what the bundle loads at start', () => {
  it("undici's agent and request API, not its index (fetch, WebSocket, mock agents), and no HTTP client of @actions/core's", () => {
    // Each costs every start of the action, measured: 40 ms of CPU and 9 MB (docs/development.md).
    const map = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../dist/index.js.map', import.meta.url)), 'utf8'),
    ) as {
      sources: string[];
    };
    const undici = map.sources.filter((s) => s.includes('node_modules/undici/'));
    expect(undici.some((s) => s.endsWith('undici/lib/dispatcher/env-http-proxy-agent.js'))).toBe(true);
    expect(
      undici.filter((s) =>
        /undici\/(index\.js|lib\/web\/fetch\/index\.js|lib\/web\/(websocket|eventsource|cookies|cache)\/|lib\/(mock|cache)\/)/.test(
          s,
        ),
      ),
    ).toEqual([]);
    // The stub that stands in for @actions/http-client (stubs/) has no side effects and its only
    // user, core.getIDToken, is never called: webpack leaves it out altogether.
    expect(map.sources.filter((s) => s.includes('http-client'))).toEqual([]);
  });
});

describe('no test knobs in the bundle (issue 14)', () => {
  // The fault suites used to shorten timeouts and backoff through THOTH_ROTATE_* variables read by
  // the bundle. Now they make the simulators drop a held connection instead (test/faults/lib.ts
  // 'hang'), and the timeout itself is tested above with a client built here: a workflow can no
  // longer tune a production run by setting an environment variable.
  const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
  const RUNNER_VARIABLES = /^(GITHUB_[A-Z_]+|RUNNER_[A-Z_]+|NO_PROXY|no_proxy)$/;

  it('src/ reads only the variables the runner sets, and hands process.env on in one place only', () => {
    const read = new Set<string>();
    const passedOn: string[] = [];
    for (const file of readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(path.join(SRC, file), 'utf8');
      for (const m of text.matchAll(/process\.env(\[['"]([^'"]+)['"]\]|\.([A-Za-z_]+))?/g)) {
        if (m[1] === undefined) passedOn.push(file);
        else read.add(m[2] ?? m[3] ?? '');
      }
      if (/ProcessEnv/.test(text)) passedOn.push(`${file} (ProcessEnv)`);
    }
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((v) => !RUNNER_VARIABLES.test(v))).toEqual([]);
    // readSettings(env = process.env) reads the action's inputs, INPUT_<NAME>, and nothing else
    // (its doc comment, default and comparison are the three mentions).
    expect(passedOn).toEqual(['settings.ts', 'settings.ts', 'settings.ts', 'settings.ts (ProcessEnv)']);
    const settings = readFileSync(path.join(SRC, 'settings.ts'), 'utf8');
    expect([...settings.matchAll(/\benv\[([^\]]*)\]/g)].map((m) => m[1])).toEqual([
      "`INPUT_${name.replace(/ /g, '_').toUpperCase()}`",
    ]);
  });

  it('the committed bundle names no THOTH_ variable but the template placeholders', () => {
    const bundle = readFileSync(fileURLToPath(new URL('../../dist/index.js', import.meta.url)), 'utf8');
    expect(bundle).toContain('GITHUB_STEP_SUMMARY');
    const names = new Set(bundle.match(/THOTH_[A-Z_]+/g));
    expect([...names].sort()).toEqual(['THOTH_API_KEY', 'THOTH_API_KEY_ID', 'THOTH_REVOKED_API_KEY_IDS']);
  });
});

/** Sends `bytes` cut at the offsets in `cuts` (the last one its length), 5 ms apart, then ends. */
function writeInChunks(res: http.ServerResponse, bytes: Buffer, cuts: number[]): void {
  let at = 0;
  const next = (): void => {
    const to = cuts.shift();
    if (to === undefined) return void res.end();
    res.write(bytes.subarray(at, to));
    at = to;
    setTimeout(next, 5);
  };
  next();
}

describe('HttpClient.jsonArrays (listings read as they arrive)', () => {
  const ONE_TRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 };

  it('hands over each element as its bytes arrive, in slow uneven chunks, and returns the rest', async () => {
    const body = JSON.stringify({ total: 3, data: [{ id: 'a', note: 'é,]}' }, { id: 'b' }, { id: 'c' }] });
    const bytes = Buffer.from(body);
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Split inside the two-byte é and inside strings: the decoder and splitter must carry both.
      const cuts = [3, 17, bytes.indexOf(0xa9), bytes.length];
      writeInChunks(res, bytes, cuts);
    });
    const c = new HttpClient({ system: 'thoth', baseUrl: s.url, userAgent: 't', retry: ONE_TRY });
    const r = await c.jsonArrays({ method: 'GET', path: '/x' }, ['data'], (el) => (el as { id: string }).id);
    expect(r).toEqual({ items: ['a', 'b', 'c'], rest: { total: 3, data: [] }, bytes: bytes.length });
    await c.close();
  });

  it('ASCII chunks are read without UTF-8 decoding until the first byte past ASCII, which may be cut mid-character', async () => {
    const body = JSON.stringify({
      data: [{ id: 'a' }, { id: 'b', city: '東京' }, { id: 'c', name: 'José' }, { id: 'd' }],
    });
    const bytes = Buffer.from(body);
    const kanji = bytes.indexOf(Buffer.from('東'));
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // ASCII, ASCII, a chunk ending inside 東's three bytes, the rest of it, ASCII-only chunks after.
      const cuts = [5, kanji, kanji + 2, kanji + 4, bytes.indexOf('"c"'), bytes.length - 3, bytes.length];
      writeInChunks(res, bytes, cuts);
    });
    const c = new HttpClient({ system: 'thoth', baseUrl: s.url, userAgent: 't', retry: ONE_TRY });
    const r = await c.jsonArrays({ method: 'GET', path: '/x' }, ['data'], (el) => el);
    expect(r.items).toEqual(JSON.parse(body).data);
    await c.close();
  });

  it('a retried listing starts over: elements of a cut-off attempt are not kept', async () => {
    let calls = 0;
    const s = await serve((_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (calls === 1) {
        res.write('{"data":[{"id":"a"},{"id":"b"},');
        setTimeout(() => res.destroy(), 10); // the connection drops mid-body
        return;
      }
      res.end('{"data":[{"id":"a"},{"id":"b"},{"id":"c"}]}');
    });
    const c = new HttpClient({
      system: 'thoth',
      baseUrl: s.url,
      userAgent: 't',
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
    });
    const r = await c.jsonArrays({ method: 'GET', path: '/x' }, ['data'], (el) => (el as { id: string }).id);
    expect(calls).toBe(2);
    expect(r.items).toEqual(['a', 'b', 'c']);
    await c.close();
  });

  it('an element the caller refuses fails the call at once, unretried, with the caller’s error', async () => {
    const s = await serve((_req, res) => res.end('{"data":[{"id":"a"},{"nope":1}]}'));
    const c = new HttpClient({
      system: 'thoth',
      baseUrl: s.url,
      userAgent: 't',
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
    });
    await expect(
      c.jsonArrays({ method: 'GET', path: '/x' }, ['data'], (el) => {
        if (!(el as { id?: string }).id) throw new TypeError('row without id');
        return 1;
      }),
    ).rejects.toThrow(/^row without id$/);
    expect(s.hits).toHaveLength(1);
    await c.close();
  });

  it('a body that is not the JSON object expected is a final error that never quotes it', async () => {
    const s = await serve((_req, res) => res.end('<html>sign in, secret-token-123</html>'));
    const c = new HttpClient({
      system: 'jamf',
      baseUrl: s.url,
      userAgent: 't',
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
    });
    const e = await c.jsonArrays({ method: 'GET', path: '/x' }, ['results'], (el) => el).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).message).toMatch(/not the JSON expected/);
    expect((e as HttpError).message).not.toMatch(/secret-token|sign in/);
    expect(s.hits).toHaveLength(1);
    await c.close();
  });

  it('a listing larger than maxResponseBytes is read: what is kept is bounded, not what is read', async () => {
    // 40,000 rows of ~100 bytes: 4 MB against a 1 MiB whole-body cap.
    const rows = Array.from({ length: 40_000 }, (_, i) => ({
      endpoint_id: `ep-${i}`,
      hostname: `mac-${i}`,
      pad: 'x'.repeat(60),
    }));
    const body = JSON.stringify({ data: rows });
    const s = await serve((_req, res) => res.end(body));
    const c = new HttpClient({
      system: 'thoth',
      baseUrl: s.url,
      userAgent: 't',
      retry: ONE_TRY,
      maxResponseBytes: 1024 * 1024,
    });
    const r = await c.jsonArrays(
      { method: 'GET', path: '/x' },
      ['data'],
      (el) => (el as { endpoint_id: string }).endpoint_id,
    );
    expect(r.items).toHaveLength(40_000);
    expect(r.bytes).toBeGreaterThan(1024 * 1024);
    // The same body read whole is refused.
    await expect(c.json({ method: 'GET', path: '/x' })).rejects.toThrow(/larger than 1048576 bytes refused/);
    await c.close();
  });

  it.each([
    [
      'an element over its size limit',
      { maxElementChars: 1000, maxElements: 100, maxRestChars: 1000 },
      `{"data":[{"id":"a"},{"pad":"${'x'.repeat(5000)}"}]}`,
      /element 1 of data is larger than 1000 characters/,
    ],
    [
      'more elements than the limit',
      { maxElementChars: 1000, maxElements: 100, maxRestChars: 1000 },
      `{"data":[${Array.from({ length: 101 }, () => '{"id":"a"}').join(',')}]}`,
      /more than 100 elements/,
    ],
    [
      'whitespace without end inside an element',
      { maxElementChars: 1000, maxElements: 100, maxRestChars: 1000 },
      `{"data":[1,${' '.repeat(5000)}2]}`,
      /element 1 of data is larger than 1000 characters/,
    ],
    [
      'a huge value outside the listing',
      { maxElementChars: 1000, maxElements: 100, maxRestChars: 1000 },
      `{"note":"${'y'.repeat(5000)}","data":[]}`,
      /outside its streamed arrays is larger than 1000 characters/,
    ],
  ])('refuses %s, once, unretried', async (_name, limits, body, re) => {
    const s = await serve((_req, res) => res.end(body));
    const c = new HttpClient({
      system: 'thoth',
      baseUrl: s.url,
      userAgent: 't',
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      streamLimits: limits,
    });
    const e = await c.jsonArrays({ method: 'GET', path: '/x' }, ['data'], (el) => el).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).message).toMatch(re);
    expect((e as HttpError).retryable).toBe(false);
    expect(s.hits).toHaveLength(1);
    await c.close();
  });

  it('an endless listing of small elements stops at the element limit, and an endless stream at the read ceiling', async () => {
    const endless = (open: string, unit: string) => async () =>
      serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(open);
        const chunk = Buffer.from(unit.repeat(4096));
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.on('error', () => undefined);
        pump();
      });
    const rows = await endless('{"data":[', '{"id":"a"},')();
    const c1 = new HttpClient({
      system: 'thoth',
      baseUrl: rows.url,
      userAgent: 't',
      retry: ONE_TRY,
      streamLimits: { maxElementChars: 1024, maxElements: 50_000, maxRestChars: 1024 },
    });
    await expect(c1.jsonArrays({ method: 'GET', path: '/x' }, ['data'], () => 0)).rejects.toThrow(
      /more than 50000 elements/,
    );
    await c1.close();
    // Whitespace without end inside one element, under a generous element limit: the read ceiling stops it.
    const blank = await endless('{"data":[1', ' ')();
    const c2 = new HttpClient({
      system: 'thoth',
      baseUrl: blank.url,
      userAgent: 't',
      retry: ONE_TRY,
      maxStreamedBytes: 2 * 1024 * 1024,
      streamLimits: { maxElementChars: 64 * 1024 * 1024, maxElements: 10, maxRestChars: 1024 },
    });
    await expect(c2.jsonArrays({ method: 'GET', path: '/x' }, ['data'], () => 0)).rejects.toThrow(
      /larger than 2097152 bytes refused/,
    );
    await c2.close();
  });

  it('error statuses are read whole as before (their text feeds the error message)', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"error":"forbidden","message":"scope missing"}');
    });
    const c = new HttpClient({
      system: 'thoth',
      baseUrl: s.url,
      userAgent: 't',
      retry: ONE_TRY,
      describeError: (_st, text) => ({ message: (JSON.parse(text) as { message: string }).message }),
    });
    await expect(c.jsonArrays({ method: 'GET', path: '/x' }, ['data'], (el) => el)).rejects.toThrow(
      /403.*scope missing|scope missing.*403/,
    );
    await c.close();
  });
});
