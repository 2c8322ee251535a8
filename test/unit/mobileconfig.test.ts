import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { build, parse, type PlistValue } from 'plist';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const masked = vi.hoisted(() => [] as string[]);
vi.mock('../../src/secrets.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/secrets.js')>();
  return { ...real, registerSecret: (v: string | undefined) => void (v && masked.push(v)) };
});

const { plainValues } = await import('../mdm-values.js');
const { MobileconfigError, parseRevokedIds, readManagedSettings, writeManagedSettings, MAX_MOBILECONFIG_BYTES } =
  await import('../../src/mdm/mobileconfig.js');

type Dict = { [k: string]: PlistValue };
const FIXTURE = readFileSync(new URL('../fixtures/mobileconfig/thoth.mobileconfig', import.meta.url), 'utf8');
const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
} as const;
const OLD_KEY = 'thoth_live_OLDKEYsecretvalue0123456789abcdef';
const NEW = {
  apiKey: 'thoth_live_NEWKEY_abcdef0123456789',
  keyId: 'key_new456',
  revokedKeyIds: ['key_ancient001', 'key_x'],
};

const settingsOf = (root: Dict, domain: string = NAMES.domain, index = 0): Dict => {
  const payload = (root.PayloadContent as Dict[])[index]!;
  return (((payload.PayloadContent as Dict)[domain] as Dict).Forced as Dict[])[0]!.mcx_preference_settings as Dict;
};
const parsed = (xml: string): Dict => parse(xml) as Dict;

/** Builds a variant of the fixture through a callback on its parsed form. */
const variant = (edit: (root: Dict) => void): string => {
  const root = structuredClone(parsed(FIXTURE));
  edit(root);
  return build(root);
};

beforeEach(() => {
  masked.length = 0;
});

describe('readManagedSettings', () => {
  it('reads the three settings and the profile identity from a realistic profile', () => {
    expect(plainValues(readManagedSettings(FIXTURE, NAMES))).toEqual({
      apiKey: OLD_KEY,
      keyId: 'key_old123',
      revokedKeyIds: ['key_ancient001'],
      identity: {
        payloadUUID: '8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B',
        payloadIdentifier: '8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B',
      },
    });
  });

  it('masks the current key as soon as it is parsed', () => {
    readManagedSettings(FIXTURE, NAMES);
    expect(masked).toContain(OLD_KEY);
  });

  it('masks the key even when the profile is then rejected as ambiguous', () => {
    const xml = variant((r) => (r.PayloadContent as Dict[]).push(structuredClone((r.PayloadContent as Dict[])[0]!)));
    expect(() => readManagedSettings(xml, NAMES)).toThrow(MobileconfigError);
    expect(masked).toContain(OLD_KEY);
  });

  it('tolerates a BOM and blank lines before the XML declaration, and CRLF line ends', () => {
    expect(readManagedSettings(`\uFEFF${FIXTURE}`, NAMES).keyId?.toMdm()).toBe('key_old123');
    expect(readManagedSettings(`\r\n  ${FIXTURE.replace(/\n/g, '\r\n')}`, NAMES).keyId?.toMdm()).toBe('key_old123');
  });

  it('rejects setting names that collide', () => {
    expect(() => readManagedSettings(FIXTURE, { ...NAMES, keyId: NAMES.apiKey })).toThrow(/three different settings/);
    // Case-insensitively: an endpoint may read them as (Windows) environment variables.
    expect(() => readManagedSettings(FIXTURE, { ...NAMES, revokedKeyIds: NAMES.apiKey.toLowerCase() })).toThrow(
      /three different settings/,
    );
  });

  it('honours configured setting names', () => {
    const xml = variant((r) => {
      const s = settingsOf(r);
      s.K = 'k'.repeat(12);
      s.ID = 'key_custom';
    });
    const out = readManagedSettings(xml, { domain: NAMES.domain, apiKey: 'K', keyId: 'ID', revokedKeyIds: 'REV' });
    expect(out.apiKey).toBe('kkkkkkkkkkkk');
    expect(out.keyId?.toMdm()).toBe('key_custom');
    expect(out.revokedKeyIds).toEqual([]);
  });

  it('reports missing settings as absent', () => {
    const xml = variant((r) => {
      const s = settingsOf(r);
      delete s.THOTH_API_KEY;
      s.THOTH_API_KEY_ID = '';
      delete s.THOTH_REVOKED_API_KEY_IDS;
    });
    const out = readManagedSettings(xml, NAMES);
    expect(out).not.toHaveProperty('apiKey');
    expect(out).not.toHaveProperty('keyId');
    expect(out.revokedKeyIds).toEqual([]);
  });

  it('finds the payload by type and domain, not by display name or position', () => {
    const xml = variant((r) => {
      const list = r.PayloadContent as Dict[];
      list.reverse(); // thoth payload now last; both preference payloads are named "Custom Settings"
    });
    expect(readManagedSettings(xml, NAMES).keyId?.toMdm()).toBe('key_old123');
  });

  it('ignores a payload carrying the domain under another PayloadType', () => {
    const xml = variant((r) => {
      const list = r.PayloadContent as Dict[];
      const decoy = structuredClone(list[0]!);
      decoy.PayloadType = 'com.example.other';
      list.unshift(decoy);
    });
    expect(readManagedSettings(xml, NAMES).keyId?.toMdm()).toBe('key_old123');
  });

  const errorCases: { name: string; xml: () => string; message: RegExp }[] = [
    {
      name: 'no payload for the domain',
      xml: () => FIXTURE,
      message: /no com\.apple\.ManagedClient\.preferences payload for the domain "com\.example\.none".*Custom Settings/,
    },
    {
      name: 'two payloads for the domain',
      xml: () =>
        variant((r) => {
          const list = r.PayloadContent as Dict[];
          const dup = structuredClone(list[0]!);
          dup.PayloadUUID = 'DUP-UUID';
          dup.PayloadIdentifier = 'dup.ident';
          list.push(dup);
        }),
      message:
        /2 com\.apple\.ManagedClient\.preferences payloads.*PayloadContent\[0\].*3F7A9B21.*PayloadContent\[3\].*dup\.ident/,
    },
    {
      name: 'Set-Once instead of Forced',
      xml: () =>
        variant((r) => {
          const d = ((r.PayloadContent as Dict[])[0]!.PayloadContent as Dict)[NAMES.domain] as Dict;
          d['Set-Once'] = d.Forced!;
          delete d.Forced;
        }),
      message: /no Forced array.*Set-Once/,
    },
    {
      name: 'Forced[0] without mcx_preference_settings',
      xml: () =>
        variant((r) => {
          ((((r.PayloadContent as Dict[])[0]!.PayloadContent as Dict)[NAMES.domain] as Dict).Forced as Dict[])[0] = {
            x: 1,
          };
        }),
      message: /mcx_preference_settings/,
    },
    {
      name: 'api key that is not a string',
      xml: () => variant((r) => (settingsOf(r).THOTH_API_KEY = 42)),
      message: /THOTH_API_KEY must be a string/,
    },
    {
      name: 'revoked ids with a non-string entry',
      xml: () => variant((r) => (settingsOf(r).THOTH_REVOKED_API_KEY_IDS = ['a', 3])),
      message: /only strings/,
    },
    {
      name: 'no top-level identity',
      xml: () => variant((r) => delete r.PayloadUUID),
      message: /PayloadUUID/,
    },
    {
      name: 'signed profile (DER, starts with 0x30)',
      xml: () => `0\u0082\u0012\u0034\u0006\u0009*\u0086H\u0086\u00f7\r\u0001\u0007\u0002${FIXTURE}`,
      message: /signed \(CMS\/PKCS#7\)/,
    },
    { name: 'binary plist', xml: () => 'bplist00\u00d1\u0001\u0002', message: /binary plist/ },
    { name: 'not XML at all', xml: () => '{"json": true}', message: /not an XML property list/ },
    {
      name: 'billion laughs',
      xml: () =>
        `<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><plist><dict><key>x</key><string>&b;</string></dict></plist>`,
      message: /declares XML entities/,
    },
    {
      name: 'oversize',
      xml: () => `<?xml version="1.0"?>${' '.repeat(MAX_MOBILECONFIG_BYTES)}`,
      message: /larger than/,
    },
    {
      name: 'malformed XML (bare ampersand)',
      xml: () => FIXTURE.replace('key_old123', 'key&old'),
      message: /not well-formed XML/,
    },
    {
      name: 'malformed XML (mismatched tag)',
      xml: () => FIXTURE.replace('<string>acme</string>', '<string>acme</strin>'),
      message: /not well-formed XML/,
    },
    { name: 'root is not a dict', xml: () => build(['a', 'b']), message: /root is not a dict/ },
  ];
  it.each(errorCases)('rejects: $name', ({ name, xml, message }) => {
    const names = name === 'no payload for the domain' ? { ...NAMES, domain: 'com.example.none' } : NAMES;
    expect(() => readManagedSettings(xml(), names)).toThrow(MobileconfigError);
    expect(() => readManagedSettings(xml(), names)).toThrow(message);
  });

  it('never quotes a setting value in an error', () => {
    const xml = FIXTURE.replace('<string>acme</string>', '<string>acme</strin>');
    // The catch must not swallow the "it did not throw" failure: capture, then assert outside.
    let thrown: unknown;
    try {
      readManagedSettings(xml, NAMES);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(MobileconfigError);
    expect(FIXTURE).toContain(OLD_KEY); // the document does hold a value the message could quote
    expect(String(thrown)).not.toContain(OLD_KEY);
    expect(String(thrown)).not.toContain('acme');
  });

  it('does not print xmldom diagnostics (they may quote document text)', () => {
    const spy = vi.spyOn(console, 'error');
    try {
      expect(() =>
        readManagedSettings(FIXTURE.replace('<string>acme</string>', '<string>ac&#xZZ;me</string>'), NAMES),
      ).toThrow();
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('parseRevokedIds', () => {
  const cases: { name: string; value: PlistValue | undefined; expected: string[] }[] = [
    { name: 'missing', value: undefined, expected: [] },
    { name: 'array', value: ['a', ' b ', 'a', ''], expected: ['a', 'b'] },
    { name: 'empty string', value: '  ', expected: [] },
    { name: 'JSON array string', value: '["key_a","key_b"]', expected: ['key_a', 'key_b'] },
    { name: 'comma list', value: 'key_a, key_b,,key_c', expected: ['key_a', 'key_b', 'key_c'] },
    { name: 'newline list', value: 'key_a\nkey_b', expected: ['key_a', 'key_b'] },
  ];
  it.each(cases)('$name', ({ value, expected }) => expect(parseRevokedIds(value, 'R')).toEqual(expected));
  it('rejects a broken JSON array and non-string types', () => {
    expect(() => parseRevokedIds('["a",', 'R')).toThrow(/JSON array/);
    expect(() => parseRevokedIds(5, 'R')).toThrow(/array of strings/);
  });
  it('reads a string-valued setting from a profile', () => {
    const xml = variant((r) => (settingsOf(r).THOTH_REVOKED_API_KEY_IDS = '["key_a","key_b"]'));
    expect(readManagedSettings(xml, NAMES).revokedKeyIds.map((v) => v.toMdm())).toEqual(['key_a', 'key_b']);
  });
});

describe('writeManagedSettings', () => {
  it('changes exactly the three values and nothing else', () => {
    const before = parsed(FIXTURE);
    const out = writeManagedSettings(FIXTURE, NAMES, NEW);
    const expected = structuredClone(before);
    const s = settingsOf(expected);
    s.THOTH_API_KEY = NEW.apiKey;
    s.THOTH_API_KEY_ID = NEW.keyId;
    s.THOTH_REVOKED_API_KEY_IDS = NEW.revokedKeyIds;
    expect(parsed(out)).toStrictEqual(expected);
    // The values that must never move, spelled out.
    const after = parsed(out);
    expect(after.PayloadUUID).toBe('8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B');
    expect(after.PayloadIdentifier).toBe('8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B');
    expect((after.PayloadContent as Dict[]).map((p) => p.PayloadUUID)).toEqual([
      '3F7A9B21-0C4D-4E5F-8A6B-7C8D9E0F1A2B',
      'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF',
      '5D6E7F80-1A2B-4C3D-8E9F-0A1B2C3D4E5F',
    ]);
    expect(settingsOf(after).THOTH_TENANT_ID).toBe('acme');
    expect(settingsOf(after).THOTH_SAMPLE_RATE).toBe(0.25);
  });

  it('round-trips through read', () => {
    const out = writeManagedSettings(FIXTURE, NAMES, NEW);
    const back = readManagedSettings(out, NAMES);
    expect(plainValues(back)).toMatchObject({ apiKey: NEW.apiKey, keyId: NEW.keyId, revokedKeyIds: NEW.revokedKeyIds });
    expect(out).not.toContain(OLD_KEY);
  });

  it('is idempotent', () => {
    const once = writeManagedSettings(FIXTURE, NAMES, NEW);
    expect(writeManagedSettings(once, NAMES, NEW)).toBe(once);
  });

  it('adds settings that were missing, writing revoked ids as an array even when they were a string', () => {
    const xml = variant((r) => {
      const s = settingsOf(r);
      delete s.THOTH_API_KEY;
      s.THOTH_REVOKED_API_KEY_IDS = 'key_a,key_b';
    });
    const s = settingsOf(parsed(writeManagedSettings(xml, NAMES, { ...NEW, revokedKeyIds: [] })));
    expect(s.THOTH_API_KEY).toBe(NEW.apiKey);
    expect(s.THOTH_REVOKED_API_KEY_IDS).toEqual([]);
  });

  it('masks both the old and the new key', () => {
    writeManagedSettings(FIXTURE, NAMES, NEW);
    expect(masked).toEqual(expect.arrayContaining([OLD_KEY, NEW.apiKey]));
  });

  it('refuses values that would corrupt the profile or another payload', () => {
    expect(() => writeManagedSettings(FIXTURE, NAMES, { ...NEW, keyId: 'key"><x' })).toThrow(
      /new value for THOTH_API_KEY_ID is not of the form/,
    );
    expect(() => writeManagedSettings(FIXTURE, NAMES, { ...NEW, revokedKeyIds: ['ok', 'no spaces'] })).toThrow(
      /^(?!.*no spaces).*entry 2 of THOTH_REVOKED_API_KEY_IDS is not of the form/,
    );
    expect(() => writeManagedSettings(FIXTURE, NAMES, { ...NEW, apiKey: '' })).toThrow(MobileconfigError);
    expect(() => writeManagedSettings(FIXTURE, NAMES, { ...NEW, apiKey: 'a\u0001b' })).toThrow(MobileconfigError);
  });

  it('escapes an api key with XML metacharacters instead of injecting them', () => {
    const apiKey = 'k<&>"\']]>';
    const out = writeManagedSettings(FIXTURE, NAMES, { ...NEW, apiKey });
    expect(readManagedSettings(out, NAMES).apiKey).toBe(apiKey);
  });

  it('refuses a profile whose other values the library would silently change', () => {
    const whole = FIXTURE.replace('<real>0.25</real>', '<real>1.0</real>');
    expect(() => writeManagedSettings(whole, NAMES, NEW)).toThrow(/whole-number <real>/);
    const big = FIXTURE.replace('<integer>60</integer>', '<integer>123456789012345678901</integer>');
    expect(() => writeManagedSettings(big, NAMES, NEW)).toThrow(/2\^53/);
    const ms = FIXTURE.replace('2026-01-15T09:30:00Z', '2026-01-15T09:30:00.123Z');
    expect(() => writeManagedSettings(ms, NAMES, NEW)).toThrow(/cannot write back unchanged/);
  });

  it('rejects the same inputs read rejects', () => {
    expect(() => writeManagedSettings(FIXTURE, { ...NAMES, domain: 'com.example.none' }, NEW)).toThrow(
      /Custom Settings/,
    );
  });

  // Random extra content anywhere in the profile must come out of a write unchanged.
  const RESERVED = new Set<string>([
    NAMES.apiKey,
    NAMES.keyId,
    NAMES.revokedKeyIds,
    'PayloadContent',
    'PayloadType',
    '__proto__',
  ]);
  const xmlString = fc.string({ unit: fc.constantFrom(...'aZ09 _-.&<>"\'\n\t\r]é€😀'.match(/./gsu)!), maxLength: 20 });
  const key = xmlString.filter((k) => !RESERVED.has(k) && k !== '');
  const leaf: fc.Arbitrary<PlistValue> = fc.oneof(
    xmlString,
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }).filter((n) => !Number.isInteger(n)),
    fc.boolean(),
    fc
      .date({ min: new Date('1971-01-01'), max: new Date('2999-01-01'), noInvalidDate: true })
      .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000)),
    fc.uint8Array({ maxLength: 16 }),
  );
  const { value } = fc.letrec<{ value: PlistValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(key, tie('value'), { maxKeys: 3 }),
    ),
  }));
  const extras = fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 });

  it('property: random keys and values elsewhere survive a write', () => {
    fc.assert(
      fc.property(extras, extras, extras, fc.nat(3), (inSettings, inOtherPayload, topLevel, where) => {
        const root = structuredClone(parsed(FIXTURE));
        Object.assign(settingsOf(root), inSettings);
        Object.assign(settingsOf(root, 'com.acme.telemetry', 1), inOtherPayload);
        const payloads = root.PayloadContent as Dict[];
        if (where === 0) Object.assign(root, topLevel);
        else Object.assign(payloads[Math.min(where, 2)]!, topLevel);
        const xml = build(root);
        const input = parsed(xml); // what the library itself reads back is the baseline
        const out = writeManagedSettings(xml, NAMES, NEW);
        const expected = structuredClone(input);
        const s = settingsOf(expected);
        s.THOTH_API_KEY = NEW.apiKey;
        s.THOTH_API_KEY_ID = NEW.keyId;
        s.THOTH_REVOKED_API_KEY_IDS = NEW.revokedKeyIds;
        expect(parsed(out)).toStrictEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
