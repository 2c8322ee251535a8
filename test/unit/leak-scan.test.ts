import { describe, expect, it } from 'vitest';
import { buildMobileconfig } from '../../sim/payloads.js';
import { configurationSecrets, findLeaks, secretVariants } from '../leak-scan.js';

const SECRET = 'thoth_live_Ab/+c=d"e\\f&g h';

describe('#findLeaks', () => {
  const cases: { name: string; text: string; secret?: string }[] = [
    { name: 'raw', text: `key is ${SECRET}.` },
    { name: 'base64', text: Buffer.from(SECRET).toString('base64') },
    { name: 'base64 without padding', text: `x${Buffer.from(SECRET).toString('base64').replace(/=+$/, '')}y` },
    { name: 'base64url', text: Buffer.from(SECRET).toString('base64url') },
    { name: 'URL-encoded', text: `?k=${encodeURIComponent(SECRET)}` },
    {
      name: 'form-urlencoded (space as +)',
      text: `client_secret=${new URLSearchParams([['', SECRET]]).toString().slice(1)}&x=1`,
    },
    {
      name: 'form-urlencoded (~ as %7E)',
      text: new URLSearchParams({ s: 'abc8Q~def_ghi' }).toString(),
      secret: 'abc8Q~def_ghi',
    },
    { name: 'JSON-escaped', text: JSON.stringify({ k: SECRET }) },
  ];
  for (const c of cases) {
    it(`finds the ${c.name} form`, () => {
      expect(findLeaks({ out: c.text }, [c.secret ?? SECRET]).length).toBeGreaterThan(0);
    });
  }
  it('ignores ::add-mask:: lines, the one place a secret is meant to be', () => {
    expect(findLeaks({ out: `::add-mask::${SECRET}\nclean line` }, [SECRET])).toEqual([]);
  });
  it('has one variant per encoding, de-duplicated', () => {
    expect(secretVariants('abcdefgh')).toContain('YWJjZGVmZ2g');
    expect(new Set(secretVariants('abcdefgh')).size).toBe(secretVariants('abcdefgh').length);
  });
});

describe('#configurationSecrets (spec §9: values read from a configuration)', () => {
  const ids = {
    uuid: 'A1B2C3D4-0000-4000-8000-000000000001',
    thothPayloadUuid: 'B1B2C3D4-0000-4000-8000-000000000002',
    otherPayloadUuid: 'C1B2C3D4-0000-4000-8000-000000000003',
    tenant: 'acme',
  };
  const KEY = 'thoth_live_configurationSecretsKey0123456789';

  it('every string of every preference payload is secret, except key ids the tenant lists and public settings', () => {
    const profile = buildMobileconfig(
      { apiKey: KEY, keyId: 'security-oncall@acme.example', revoked: ['key_listed0001', 'not-a-key-0001'] },
      ids,
    );
    const found = configurationSecrets([profile], [], new Set(['key_listed0001']));
    expect(found).toEqual(expect.arrayContaining([KEY, 'security-oncall@acme.example', 'not-a-key-0001']));
    expect(found).not.toContain('key_listed0001');
    expect(found).not.toContain('acme');
    expect(found).not.toContain('/Library/Application Support/Thoth/revoked-key-ids.json');
  });

  it("a listed key id in the key-id setting is public; the remediation script's values count too", () => {
    const profile = buildMobileconfig({ apiKey: KEY, keyId: 'key_listed0001', revoked: [] }, ids);
    expect(configurationSecrets([profile], [], new Set(['key_listed0001']))).toEqual([KEY]);
    expect(
      configurationSecrets(
        [],
        [{ apiKey: KEY, keyId: 'whoever@acme.example', revoked: ['key_listed0001'] }],
        new Set(['key_listed0001']),
      ),
    ).toEqual([KEY, 'whoever@acme.example']);
  });

  it('a document that is not a plist adds nothing', () => {
    expect(configurationSecrets(['<html>', ''], [], new Set())).toEqual([]);
  });
});
