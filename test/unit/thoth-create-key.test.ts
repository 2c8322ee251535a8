/**
 * POST api-keys against a local server: the plaintext is masked before anything else touches it,
 * and the request is never repeated (spec control-plane.md: a repeat can mint a second key), not
 * after a 5xx, not after a 429, not after a lost answer, even with a client whose retry policy
 * would retry every other call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const setSecret = vi.fn();
vi.mock('@actions/core', () => ({ setSecret, info: vi.fn(), warning: vi.fn(), debug: vi.fn() }));

const { createThothClient } = await import('../../src/clients/thoth.js');
const { HttpError } = await import('../../src/errors.js');

type Answer = (res: http.ServerResponse) => void;
let answer: Answer;
let hits: string[] = [];
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  hits = [];
  setSecret.mockClear();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** A client that retries everything else four times, fast. */
const client = () =>
  createThothClient({
    baseUrl: url,
    tenant: 'acme',
    credential: { kind: 'api-key', value: 'org-key-value-123' },
    retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 0 },
  });
const create = (c: ReturnType<typeof client>) =>
  c.createKey({ scopeLevel: 'fleet', scopeTargetId: 'flt-1', permissions: ['execute'], name: 'thoth-rotate test' });
const PLAINTEXT = 'thoth_live_CREATEKEY_plaintext_0123456789';

describe('ThothApi.createKey', () => {
  it('masks the plaintext (and its encoded forms) when the answer arrives', async () => {
    answer = (res) =>
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ key_id: 'key_new', api_key: PLAINTEXT, prefix: 'thoth_live_CR' }));
    const c = client();
    const created = await create(c);
    expect(created.keyId).toBe('key_new');
    const masked = setSecret.mock.calls.map((a) => a[0]);
    expect(masked).toContain(PLAINTEXT);
    expect(masked).toContain(Buffer.from(PLAINTEXT).toString('base64'));
    await c.close();
  });

  it('masks the plaintext even when the answer is otherwise malformed (before the shape error exists)', async () => {
    // Another plaintext: the registry masks each value once per process.
    const plaintext = 'thoth_live_MALFORMED_answer_9876543210';
    answer = (res) =>
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ api_key: plaintext, prefix: 42 }));
    const c = client();
    await expect(create(c)).rejects.toThrow(/POST api-keys/);
    expect(setSecret.mock.calls.map((a) => a[0])).toContain(plaintext);
    expect(hits).toEqual(['POST /acme/thoth/api-keys']);
    await c.close();
  });

  it.each([
    ['a 503', (res: http.ServerResponse) => res.writeHead(503).end('down')],
    ['a 502', (res: http.ServerResponse) => res.writeHead(502).end('bad gateway')],
    [
      'a 429 with Retry-After',
      (res: http.ServerResponse) => res.writeHead(429, { 'retry-after': '0' }).end('slow down'),
    ],
    ['a lost answer (connection reset after the request)', (res: http.ServerResponse) => res.socket?.destroy()],
  ] as const)('is sent once after %s, and fails', async (_name, a) => {
    answer = a;
    const c = client();
    const err = await create(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(hits).toEqual(['POST /acme/thoth/api-keys']);
    await c.close();
  });
});
