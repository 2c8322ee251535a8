/**
 * The oracle of the reliability suites checks itself: each invariant check must fail when the
 * invariant is broken (a green matrix means nothing if the checks cannot see a violation).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  apply,
  checkAlways,
  checkNoOrphan,
  checkRevoked,
  enumerate,
  faultRule,
  normalisePath,
  startCase,
  type Case,
} from './lib.js';

let c: Case | undefined;
afterEach(async () => {
  await c?.sims.close();
  c = undefined;
});

describe('invariant checks see violations', () => {
  it('a clean case has none', async () => {
    c = await startCase();
    expect(checkAlways(c, 'apply')).toEqual([]);
    expect(checkNoOrphan(c)).toEqual([]);
  });

  it('the delivered key revoked while still delivered (zero valid keys)', async () => {
    c = await startCase();
    c.sims.thoth.revokeKey(c.sims.ids.oldKeyId);
    expect(checkAlways(c, 'revoke').join('\n')).toMatch(/revoked at .* while still delivered/);
  });

  it("a profile delivering one key id with another key's plaintext", async () => {
    c = await startCase();
    const s = c.sims;
    const other = s.thoth.createKeyDirect({ scopeLevel: 'fleet', scopeTargetId: s.ids.fleetId, permissions: ['read'] });
    const cur = s.jamf.currentPayloads();
    s.jamf.setPayloads(cur.replace(s.thoth.plaintextOf(s.ids.oldKeyId)!, other.apiKey));
    expect(checkAlways(c, 'apply').join('\n')).toMatch(/another key's plaintext/);
  });

  it('the old key revoked without a passing validation in the evidence', async () => {
    c = await startCase();
    const s = c.sims;
    const k = s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read', 'execute'],
    });
    s.jamf.setPayloads(
      s.jamf.currentPayloads().replace(s.thoth.plaintextOf(s.ids.oldKeyId)!, k.apiKey).replace(s.ids.oldKeyId, k.keyId),
    );
    s.thoth.revokeKey(s.ids.oldKeyId);
    expect(checkAlways(c, 'apply').join('\n')).toMatch(/revoked but the evidence holds no passing validate/);
  });

  it('an orphan key minted for the rotation and never delivered', async () => {
    c = await startCase();
    c.sims.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: c.sims.ids.fleetId,
      permissions: ['read'],
      name: 'thoth-rotate corpsec-macos-2026-12 run 1.1',
    });
    expect(checkNoOrphan(c).join('\n')).toMatch(/orphan/);
  });

  it('a secret in a run output', async () => {
    c = await startCase();
    c.runs.push({
      code: 0,
      signal: null,
      stdout: `oops ${c.sims.creds.jamfClientSecret}`,
      stderr: '',
      outputs: {},
      summary: '',
    });
    expect(checkAlways(c, 'apply').join('\n')).toMatch(/secret \(raw\) in run 0 stdout/);
    c.runs.pop();
  });

  it('a revocation that did not reach the control plane or the configuration', async () => {
    c = await startCase();
    expect(checkRevoked(c)).toHaveLength(4);
  });

  it('a broken hash chain', async () => {
    c = await startCase();
    const r = await apply(c);
    expect(r.outputs['status']).toBe('in-progress');
    const path = `.thoth/evidence/${c.sims.ids.fleetId}/corpsec-macos-2026-12.json`;
    const rec = JSON.parse(c.sims.github.file(path, 'main')!) as { events: { detail: string }[] };
    rec.events[1]!.detail = 'edited';
    c.sims.github.putFile(path, JSON.stringify(rec), { branch: 'main', message: 'tamper' });
    expect(checkAlways(c, 'apply').join('\n')).toMatch(/evidence: .*chain broken/);
  });
});

describe('enumeration and fault rules', () => {
  it('normalises ids out of paths', () => {
    expect(normalisePath('/acme/thoth/api-keys/key_abc123/authorize')).toBe('/acme/thoth/api-keys/{keyId}/authorize');
    expect(normalisePath('/JSSResource/osxconfigurationprofiles/id/123')).toBe(
      '/JSSResource/osxconfigurationprofiles/id/{id}',
    );
    expect(normalisePath('/api/v3/computer-groups/smart-group-membership/45')).toBe(
      '/api/v3/computer-groups/smart-group-membership/{id}',
    );
  });

  it('one point per call site per runbook segment; a rule matches its call only', () => {
    const e = (seq: number, system: 'thoth' | 'github', method: string, path: string, bodyText?: string) => ({
      seq,
      system,
      method,
      path,
      query: '',
      status: 200,
      at: 0,
      durationMs: 0,
      headers: {},
      ...(bodyText ? { bodyText } : {}),
    });
    const log = [
      e(1, 'thoth', 'GET', '/acme/thoth/api-keys'),
      e(2, 'thoth', 'GET', '/acme/thoth/api-keys'),
      e(
        3,
        'github',
        'PUT',
        '/repos/o/r/contents/x.json',
        '{"message":"thoth-rotate: n pending (window-check, preflight, claim)"}',
      ),
      e(4, 'thoth', 'GET', '/acme/thoth/api-keys'),
      e(5, 'thoth', 'POST', '/acme/thoth/api-keys/key_1/authorize'),
    ];
    const points = enumerate('apply', log);
    expect(points.map((p) => `${p.after} ${p.method} ${p.path} #${p.nth}`)).toEqual([
      'start GET /acme/thoth/api-keys #1',
      'start PUT /repos/o/r/contents/x.json #1',
      'c1:claim GET /acme/thoth/api-keys #3',
      'c1:claim POST /acme/thoth/api-keys/{keyId}/authorize #1',
    ]);
    const rule = faultRule(points[3]!, 'reset');
    expect((rule.path as RegExp).test('/acme/thoth/api-keys/key_zz9/authorize')).toBe(true);
    expect((rule.path as RegExp).test('/acme/thoth/api-keys')).toBe(false);
  });
});
