/** The control plane's endpoint listing: streamed, reduced row by row, unchanged rows kept once. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThothClient, type ThothApi } from '../../src/clients/thoth.js';

let body = '';
let server: http.Server;
let thoth: ThothApi;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  thoth = createThothClient({
    baseUrl: url,
    tenant: 'acme',
    credential: { kind: 'api-key', value: 'org-key-value-123' },
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
  });
});
afterAll(async () => {
  await thoth.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const row = (id: string, extra: Record<string, unknown> = {}) => ({
  endpoint_id: id,
  hostname: `${id}.corp`,
  fleet_id: 'flt-1',
  os: 'macos',
  status: 'active',
  managed_runtime_key_id: 'key_old',
  last_seen: '2026-11-28T10:00:00Z',
  ...extra,
});

describe('ThothApi.listEndpoints', () => {
  it('keeps only the fields the action uses, with dates parsed and ids shared', async () => {
    body = JSON.stringify({
      data: [row('e1'), row('e2', { hostname: null, managed_runtime_key_id: '', last_seen: 'not a date' })],
    });
    const [a, b] = await thoth.listEndpoints('flt-1');
    expect(a).toEqual({
      endpointId: 'e1',
      hostname: 'e1.corp',
      fleetId: 'flt-1',
      keyId: 'key_old',
      lastSeen: Date.parse('2026-11-28T10:00:00Z'),
    });
    expect(b).toEqual({ endpointId: 'e2', hostname: 'e2', fleetId: 'flt-1' });
  });

  it('answers a row unchanged since the last listing with the same object, a changed row with a new one', async () => {
    body = JSON.stringify({ data: [row('e1'), row('e3')] });
    const first = await thoth.listEndpoints('flt-1');
    body = JSON.stringify({
      data: [
        row('e1', { status: 'busy' }),
        row('e3', { managed_runtime_key_id: 'key_new', last_seen: '2026-11-28T10:05:00Z' }),
      ],
    });
    const second = await thoth.listEndpoints('flt-1');
    expect(second[0]).toBe(first[0]); // fields the action does not read changed: still the same row
    expect(second[1]).not.toBe(first[1]);
    expect(second[1]).toMatchObject({ keyId: 'key_new', lastSeen: Date.parse('2026-11-28T10:05:00Z') });
  });

  it('names the malformed field and row, never a value', async () => {
    body = JSON.stringify({ data: [row('e1'), { ...row('x'), endpoint_id: 42 }] });
    await expect(thoth.listEndpoints('flt-1')).rejects.toThrow(/data\.1\.endpoint_id/);
    body = JSON.stringify({ data: [row('e1', { hostname: { secret: 'org-key-value-123' } })] });
    const e = (await thoth.listEndpoints('flt-1').catch((x: unknown) => x)) as Error;
    expect(e.message).toMatch(/data\.0\.hostname/);
    expect(e.message).not.toMatch(/org-key-value/);
    body = JSON.stringify({ items: [] });
    await expect(thoth.listEndpoints('flt-1')).rejects.toThrow(/field\(s\): data/);
  });
});
