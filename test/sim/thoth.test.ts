import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { thothHeaders } from './helpers.js';

let s: Simulators;
let base: string;
beforeAll(async () => {
  s = await startSimulators({ fleet: { size: 6, inactive: 1 } });
  base = `${s.urls.thoth}/acme/thoth`;
});
afterAll(() => s.close());

async function post(path: string, body: unknown, headers = thothHeaders(s)): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('thoth sim: auth', () => {
  it('rejects both or neither credential with 401 and accepts either alone', async () => {
    const both = await fetch(`${base}/api-keys`, {
      headers: { 'x-api-key': s.creds.orgApiKey, authorization: `Bearer ${s.creds.adminBearer}` },
    });
    expect(both.status).toBe(401);
    expect(await both.json()).toMatchObject({ error: 'unauthorized' });
    expect((await fetch(`${base}/api-keys`)).status).toBe(401);
    expect(
      (await fetch(`${base}/api-keys`, { headers: { authorization: `Bearer ${s.creds.adminBearer}` } })).status,
    ).toBe(200);
    expect((await fetch(`${base}/api-keys`, { headers: thothHeaders(s) })).status).toBe(200);
  });

  it('answers 403 to a fleet key used as X-Api-Key and to another tenant in the path', async () => {
    const fleetKey = s.thoth.plaintextOf(s.ids.oldKeyId) ?? '';
    const r = await fetch(`${base}/api-keys`, { headers: { 'x-api-key': fleetKey } });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ error: 'forbidden' });
    expect((await fetch(`${s.urls.thoth}/globex/thoth/api-keys`, { headers: thothHeaders(s) })).status).toBe(403);
  });

  it('logs the attribution headers and redacts the credential', async () => {
    s.log.clear();
    await fetch(`${base}/fleets/${s.ids.fleetId}`, {
      headers: thothHeaders(s, { 'X-Aten-Provisioned-Via': 'github-action', 'X-Aten-Provisioner': 'thoth-rotate' }),
    });
    const e = s.log.entries()[0];
    expect(e?.headers['x-aten-provisioned-via']).toBe('github-action');
    expect(e?.headers['x-aten-provisioner']).toBe('thoth-rotate');
    expect(e?.headers['x-api-key']).toBe('<redacted>');
  });
});

describe('thoth sim: fleets, keys, endpoints', () => {
  it('serves the fleet with its region and 404s an unknown one', async () => {
    const r = await fetch(`${base}/fleets/${s.ids.fleetId}`, { headers: thothHeaders(s) });
    expect(await r.json()).toMatchObject({ fleet_id: s.ids.fleetId, region: 'us-east-1', endpoint_count: 6 });
    const nf = await fetch(`${base}/fleets/flt-nope`, { headers: thothHeaders(s) });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ error: 'not_found' });
  });

  it('lists this tenant’s keys without plaintext and hides the other tenant’s key', async () => {
    const body = (await (await fetch(`${base}/api-keys`, { headers: thothHeaders(s) })).json()) as {
      api_keys: Record<string, unknown>[];
    };
    const ids = body.api_keys.map((k) => k['key_id']);
    expect(ids).toContain(s.ids.oldKeyId);
    expect(ids).toContain(s.ids.undeployedKeyId);
    expect(ids).not.toContain(s.ids.otherTenantKeyId);
    const text = JSON.stringify(body);
    for (const k of s.thoth.keys()) expect(text).not.toContain(s.thoth.plaintextOf(k.id) ?? 'x');
    expect(body.api_keys.find((k) => k['key_id'] === s.ids.oldKeyId)).toMatchObject({
      scope_level: 'fleet',
      scope_target_id: s.ids.fleetId,
      active: true,
    });
  });

  it('creates a key with the documented shape, and validates the body', async () => {
    const r = await post('/api-keys', {
      scope_level: 'fleet',
      scope_target_id: s.ids.fleetId,
      permissions: ['read', 'execute'],
      name: 'rot-1',
      ttl_seconds: 3600,
    });
    expect(r.status).toBe(201);
    const k = (await r.json()) as Record<string, string>;
    expect(k['key_id']).toMatch(/^key_[a-z2-7]{20}$/);
    expect(k['api_key']).toMatch(/^thoth_live_[A-Za-z0-9]{40}$/);
    expect(k['prefix']).toBe(k['api_key']?.slice(0, 16));
    expect(Date.parse(k['expires_at'] ?? '') - Date.parse(k['created_at'] ?? '')).toBe(3_600_000);
    expect(s.thoth.keys().find((x) => x.id === k['key_id'])).toMatchObject({
      name: 'rot-1',
      scope: 'fleet',
      target: s.ids.fleetId,
      active: true,
    });

    for (const bad of [
      { scope_level: 'galaxy', scope_target_id: 'x', permissions: ['read'] },
      { scope_level: 'fleet', permissions: ['read'] },
      { scope_level: 'fleet', scope_target_id: s.ids.fleetId, permissions: [] },
      { scope_level: 'fleet', scope_target_id: s.ids.fleetId, permissions: ['admin'] },
      { scope_level: 'fleet', scope_target_id: s.ids.fleetId, permissions: ['read'], ttl_seconds: 1.5 },
      { scope_level: 'fleet', scope_target_id: 'flt-missing', permissions: ['read'] },
    ]) {
      const res = await post('/api-keys', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    }
  });

  it('authorizes by plaintext, permission and scope (fleet key covers its endpoints)', async () => {
    const id = s.ids.oldKeyId;
    const api = s.thoth.plaintextOf(id) ?? '';
    const ask = async (b: Record<string, string>): Promise<Record<string, unknown>> =>
      (await (await post(`/api-keys/${id}/authorize`, b)).json()) as Record<string, unknown>;
    expect(
      await ask({ api_key: api, permission: 'execute', resource_type: 'fleet', resource_id: s.ids.fleetId }),
    ).toMatchObject({
      valid: true,
      permission_allowed: true,
      scope_allowed: true,
      expired: false,
      scope_level: 'fleet',
    });
    expect(
      await ask({ api_key: api, permission: 'write', resource_type: 'fleet', resource_id: s.ids.fleetId }),
    ).toMatchObject({ valid: true, permission_allowed: false });
    expect(
      await ask({ api_key: api, permission: 'read', resource_type: 'endpoint', resource_id: 'ep-00002' }),
    ).toMatchObject({ scope_allowed: true });
    expect(
      await ask({ api_key: api, permission: 'read', resource_type: 'fleet', resource_id: 'flt-other' }),
    ).toMatchObject({ scope_allowed: false });
    expect(
      await ask({ api_key: `${api}x`, permission: 'read', resource_type: 'fleet', resource_id: s.ids.fleetId }),
    ).toMatchObject({ valid: false });
    expect(
      (
        await post(`/api-keys/${s.ids.otherTenantKeyId}/authorize`, {
          api_key: 'x',
          permission: 'read',
          resource_type: 'fleet',
          resource_id: s.ids.fleetId,
        })
      ).status,
    ).toBe(404);
  });

  it('reports an expired key as expired and inactive', async () => {
    const { keyId, apiKey } = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read'],
      expiresAt: new Date(Date.now() - 1000),
    });
    const r = (await (
      await post(`/api-keys/${keyId}/authorize`, {
        api_key: apiKey,
        permission: 'read',
        resource_type: 'fleet',
        resource_id: s.ids.fleetId,
      })
    ).json()) as Record<string, unknown>;
    expect(r).toMatchObject({ valid: true, expired: true });
    expect(s.thoth.key(keyId)?.active).toBe(false);
  });

  it('revokes with DELETE: 200 once, then 404; the key shows active:false', async () => {
    const { keyId } = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read'],
    });
    const del = await fetch(`${base}/api-keys/${keyId}`, { method: 'DELETE', headers: thothHeaders(s) });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ key_id: keyId, revoked: true });
    expect((await fetch(`${base}/api-keys/${keyId}`, { method: 'DELETE', headers: thothHeaders(s) })).status).toBe(404);
    expect((await fetch(`${base}/api-keys/key_unknown`, { method: 'DELETE', headers: thothHeaders(s) })).status).toBe(
      404,
    );
    const list = (await (await fetch(`${base}/api-keys`, { headers: thothHeaders(s) })).json()) as {
      api_keys: { key_id: string; active: boolean }[];
    };
    expect(list.api_keys.find((k) => k.key_id === keyId)?.active).toBe(false);
  });

  it('lists the fleet endpoints with the key they run and last_seen (inactive 30 days ago)', async () => {
    const r = (await (
      await fetch(`${base}/endpoints?fleet_id=${s.ids.fleetId}`, { headers: thothHeaders(s) })
    ).json()) as { data: Record<string, unknown>[] };
    expect(r.data).toHaveLength(6);
    expect(r.data[0]).toMatchObject({
      endpoint_id: 'ep-00001',
      hostname: 'mac-00001',
      fleet_id: s.ids.fleetId,
      os: 'macos',
      enrollment: 'jamf',
      managed_runtime_key_id: s.ids.oldKeyId,
    });
    const stale = r.data.filter((e) => Date.now() - Date.parse(String(e['last_seen'])) > 29 * 86_400_000);
    expect(stale).toHaveLength(1);
    const empty = (await (
      await fetch(`${base}/endpoints?fleet_id=flt-other`, { headers: thothHeaders(s) })
    ).json()) as { data: unknown[] };
    expect(empty.data).toEqual([]);
  });
});

describe('thoth sim: options', () => {
  it('revokedKeys: gone removes revoked keys from the list; region keeps its spelling', async () => {
    const g = await startSimulators({ thoth: { revokedKeys: 'gone', region: 'US-East-1' } });
    try {
      const b = `${g.urls.thoth}/acme/thoth`;
      const h = { 'x-api-key': g.creds.orgApiKey };
      expect(
        ((await (await fetch(`${b}/fleets/${g.ids.fleetId}`, { headers: h })).json()) as { region: string }).region,
      ).toBe('US-East-1');
      expect((await fetch(`${b}/api-keys/${g.ids.undeployedKeyId}`, { method: 'DELETE', headers: h })).status).toBe(
        200,
      );
      const list = (await (await fetch(`${b}/api-keys`, { headers: h })).json()) as { api_keys: { key_id: string }[] };
      expect(list.api_keys.map((k) => k.key_id)).not.toContain(g.ids.undeployedKeyId);
      expect(g.thoth.key(g.ids.undeployedKeyId)?.revokedAt).toBeInstanceOf(Date);
    } finally {
      await g.close();
    }
  });
});
