import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { thothHeaders, until, withSettings } from './helpers.js';

let s: Simulators | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const createBody = (fleetId: string): string =>
  JSON.stringify({ scope_level: 'fleet', scope_target_id: fleetId, permissions: ['read'] });

describe('sim infra: faults', () => {
  it('answers the nth matching request with the fault status, `times` times, without running the handler', async () => {
    s = await startSimulators();
    const url = `${s.urls.thoth}/acme/thoth/api-keys`;
    s.faults.add({
      system: 'thoth',
      method: 'GET',
      path: '/acme/thoth/api-keys',
      nth: 2,
      times: 2,
      respond: { status: 503, body: '{"error":"unavailable","message":"x"}', headers: { 'retry-after': '1' } },
    });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await fetch(url, { headers: thothHeaders(s) })).status);
    expect(codes).toEqual([200, 503, 503, 200]);
    expect(s.log.entries().map((e) => e.status)).toEqual([200, 503, 503, 200]);

    const before = s.thoth.keys().length;
    s.faults.add({ system: 'thoth', method: 'POST', path: /\/api-keys$/, respond: { status: 500 } });
    const r = await fetch(url, {
      method: 'POST',
      headers: thothHeaders(s, { 'content-type': 'application/json' }),
      body: createBody(s.ids.fleetId),
    });
    expect(r.status).toBe(500);
    expect(s.thoth.keys().length).toBe(before);
  });

  it('resets the connection (client sees a network error)', async () => {
    s = await startSimulators();
    s.faults.add({ system: 'github', path: /^\/repos\//, respond: { reset: true } });
    await expect(
      fetch(`${s.urls.github}/repos/${s.creds.owner}/${s.creds.repo}`, {
        headers: { authorization: `token ${s.creds.githubToken}` },
      }),
    ).rejects.toThrow();
    expect(s.log.entries()[0]?.status).toBe(0);
  });

  it('hangs until the client gives up', async () => {
    s = await startSimulators();
    s.faults.add({ system: 'thoth', path: /fleets/, respond: { hangMs: 5_000 } });
    const t0 = Date.now();
    await expect(
      fetch(`${s.urls.thoth}/acme/thoth/fleets/${s.ids.fleetId}`, {
        headers: thothHeaders(s),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('after:true runs the handler (the key is created) and then loses the response', async () => {
    s = await startSimulators();
    const before = s.thoth.keys().length;
    s.faults.add({
      system: 'thoth',
      method: 'POST',
      path: '/acme/thoth/api-keys',
      after: true,
      respond: { reset: true },
    });
    await expect(
      fetch(`${s.urls.thoth}/acme/thoth/api-keys`, {
        method: 'POST',
        headers: thothHeaders(s, { 'content-type': 'application/json' }),
        body: createBody(s.ids.fleetId),
      }),
    ).rejects.toThrow();
    expect(s.thoth.keys().length).toBe(before + 1);
  });
});

describe('sim infra: request log', () => {
  it('classifies mutations, keeps bodies, redacts credentials, and clear() empties it', async () => {
    s = await startSimulators();
    const h = thothHeaders(s, { 'content-type': 'application/json' });
    await fetch(`${s.urls.thoth}/acme/thoth/api-keys`, { headers: h });
    const created = (await (
      await fetch(`${s.urls.thoth}/acme/thoth/api-keys`, {
        method: 'POST',
        headers: h,
        body: createBody(s.ids.fleetId),
      })
    ).json()) as { key_id: string; api_key: string };
    await fetch(`${s.urls.thoth}/acme/thoth/api-keys/${created.key_id}/authorize`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({
        api_key: created.api_key,
        permission: 'read',
        resource_type: 'fleet',
        resource_id: s.ids.fleetId,
      }),
    });
    await fetch(`${s.urls.thoth}/acme/thoth/api-keys/${created.key_id}`, { method: 'DELETE', headers: h });
    const muts = s.log.mutations();
    expect(muts.map((e) => `${e.method} ${e.path}`)).toEqual([
      `POST /acme/thoth/api-keys`,
      `DELETE /acme/thoth/api-keys/${created.key_id}`,
    ]);
    expect(muts[0]?.bodyText).toContain('"scope_level":"fleet"');
    expect(s.log.entries()[2]?.bodyText).toContain(created.api_key);
    expect(s.log.entries().every((e) => e.headers['x-api-key'] === '<redacted>')).toBe(true);
    expect(s.log.entries().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    s.log.clear();
    expect(s.log.entries()).toEqual([]);
    expect(s.log.maxConcurrent('thoth')).toBe(0);
  });

  it('records peak concurrency per system and injects latency', async () => {
    s = await startSimulators({ latencyMs: { thoth: 150 } });
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 4 }, () =>
        fetch(`${s!.urls.thoth}/acme/thoth/fleets/${s!.ids.fleetId}`, { headers: thothHeaders(s!) }),
      ),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
    expect(s.log.maxConcurrent('thoth')).toBe(4);
    expect(s.log.maxConcurrent('jamf')).toBe(0);
    expect(s.log.entries().every((e) => e.durationMs >= 145)).toBe(true);
  });

  it('secrets() holds the credentials and every minted key', async () => {
    s = await startSimulators();
    const { apiKey } = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read'],
    });
    const all = s.secrets();
    for (const v of [
      s.creds.orgApiKey,
      s.creds.adminBearer,
      s.creds.jamfClientSecret,
      s.creds.azureClientSecret,
      s.creds.githubToken,
      apiKey,
      s.thoth.plaintextOf(s.ids.oldKeyId),
    ]) {
      expect(all).toContain(v);
    }
  });
});

describe('sim scale', () => {
  it('starts a 50,000-endpoint fleet quickly and lists it', async () => {
    const t0 = Date.now();
    s = await startSimulators({ fleet: { size: 50_000, offline: 500, stuck: 500, inactive: 1000 } });
    const started = Date.now() - t0;
    expect(started).toBeLessThan(2_000);
    expect(s.fleet.indices({ inFleet: true, behaviour: 'inactive' })).toHaveLength(1000);
    const r = (await (
      await fetch(`${s.urls.thoth}/acme/thoth/endpoints?fleet_id=${s.ids.fleetId}`, { headers: thothHeaders(s) })
    ).json()) as { data: unknown[] };
    expect(r.data).toHaveLength(50_000);
  });

  it('checks 50,000 refreshed endpoints in on one queue and adopts the delivered key', async () => {
    s = await startSimulators({ fleet: { size: 50_000, stuck: 1000, offline: 1000, checkInDelayMs: [1, 200] } });
    const { keyId, apiKey } = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read'],
    });
    s.jamf.setPayloads(withSettings(s.jamf.currentPayloads(), { apiKey, keyId }));
    const t0 = Date.now();
    for (let i = 0; i < s.fleet.size; i++) s.fleet.refresh(i);
    await until(() => s!.fleet.keyCounts()[keyId] === 48_000, 10_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(s.fleet.keyCounts()[s.ids.oldKeyId]).toBe(2_000);
  });
});
