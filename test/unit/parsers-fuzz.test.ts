/**
 * Property-based fuzzing of every parser of API responses (issue #6, item 4): the Jamf
 * Classic XML, the mobileconfig plist, `thoth health --json`, the evidence record, the zod
 * shapes of the Thoth and Jamf clients (driven through the real HttpClient against a local
 * server that answers with fuzzed bodies) and Graph's nextLink check. Each must return or
 * throw a clean Error (a subclass with a message) — no crash, no hang, no other exception.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fuzzSeed } from './fuzz-seed.js';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), debug: vi.fn(), info: vi.fn(), warning: vi.fn() }));

const { parseJamfProfile, parseComputerGroup, parseClassicErrorPage, escapeXmlText, buildJamfProfileUpdate } =
  await import('../../src/clients/jamf-profile-xml.js');
const { readManagedSettings, writeManagedSettings, parseRevokedIds, MobileconfigError } = await import(
  '../../src/mdm/mobileconfig.js'
);
const { parseHealth } = await import('../../src/observations.js');
const { appendEvent, parseRecord, serializeRecord, EVIDENCE_SCHEMA, EvidenceError } = await import(
  '../../src/evidence/record.js'
);
const { genesis: sampleGenesis } = await import('./evidence-sample.js');
type EvidenceRecord = import('../../src/evidence/record.js').EvidenceRecord;
const { createThothClient } = await import('../../src/clients/thoth.js');
const { createJamfClient } = await import('../../src/clients/jamf.js');
const { JamfVersionError } = await import('../../src/clients/jamf-versions.js');
const { nextLinkPath } = await import('../../src/clients/graph-batch.js');
const { HttpError, ResponseShapeError } = await import('../../src/errors.js');
const { SecretValue } = await import('../../src/secret-value.js');

const SEED = fuzzSeed();
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200);
const opts = { seed: SEED, numRuns: RUNS };
const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
const MOBILECONFIG = readFileSync(new URL('../fixtures/mobileconfig/thoth.mobileconfig', import.meta.url), 'utf8');
const PROFILE_XML = `<?xml version="1.0" encoding="UTF-8"?><os_x_configuration_profile><general><id>123</id><name>Thoth</name><uuid>8C1E0F3A-4B2D-4E6F-9A7B-1C2D3E4F5A6B</uuid><redeploy_on_update>Newly Assigned</redeploy_on_update><payloads>${escapeXmlText(MOBILECONFIG)}</payloads></general><scope><all_computers>false</all_computers></scope></os_x_configuration_profile>`;
const GROUP_XML =
  '<?xml version="1.0"?><computer_group><id>45</id><name>Thoth fleet</name><is_smart>false</is_smart><computers><size>2</size><computer><id>101</id><name>mac-1</name></computer><computer><id>102</id><name>mac-2</name></computer></computers></computer_group>';

/**
 * Calls `fn`; the outcome must be a value or one of the `allowed` error classes with a message.
 * No wall-clock bound (timings belong to `npm run bench`; linear-parsing.test.ts pins the
 * parsers' growth): a parser that hangs fails on the test's own timeout.
 */
function clean<T>(fn: () => T, allowed: readonly (abstract new (...a: never[]) => Error)[]): T | Error {
  try {
    return fn();
  } catch (e) {
    expect(e, `threw a non-Error: ${String(e)}`).toBeInstanceOf(Error);
    expect(
      allowed.some((c) => e instanceof c),
      `unexpected ${(e as Error).name}: ${(e as Error).message}`,
    ).toBe(true);
    expect((e as Error).message.length).toBeGreaterThan(0);
    return e as Error;
  }
}

/** Random edits of a valid document: delete, duplicate, insert markup, flip characters, truncate. */
const SNIPPETS = [
  '<',
  '>',
  '&',
  '&amp;',
  '&#0;',
  '&#x110000;',
  '&unknown;',
  ']]>',
  '<![CDATA[',
  '<!--',
  '-->',
  '<!DOCTYPE x [<!ENTITY a "aaaa">]>',
  '&a;',
  '<?xml version="1.0"?>',
  '</dict>',
  '<dict>',
  '<key>',
  '</key>',
  '<string>',
  '</string>',
  '<array>',
  '</array>',
  '<integer>9007199254740993</integer>',
  '<real>1.0</real>',
  '<date>2026-01-01T00:00:00.5Z</date>',
  '<data>!!!</data>',
  '<true/>',
  '\u0000',
  '\uFFFE',
  '\uD800',
  '"',
  "'",
  '\r',
  '\n',
  'payloads',
  'general',
  'computer',
  '<id>-1</id>',
  '<id>1e309</id>',
  '<id>0x10</id>',
];
function mutate(doc: string): fc.Arbitrary<string> {
  return fc
    .array(
      fc.tuple(
        fc.nat(5),
        fc.nat(doc.length + 50),
        fc.nat(200),
        fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 8 })),
      ),
      { minLength: 1, maxLength: 5 },
    )
    .map((edits) =>
      edits.reduce((d, [op, at, len, s]) => {
        const i = at % (d.length + 1);
        switch (op) {
          case 0:
            return d.slice(0, i) + d.slice(i + len);
          case 1:
            return d.slice(0, i) + s + d.slice(i);
          case 2:
            return d.slice(0, i) + d.slice(i, i + len) + d.slice(i);
          case 3:
            return d.slice(0, i);
          case 4:
            return d.slice(0, i) + s + d.slice(i + 1);
          default:
            return d.replace(/<(\w+)>/, `<${s.replace(/[<>\s]/g, '') || 'x'}>`);
        }
      }, doc),
    );
}
const junk = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(...SNIPPETS).chain((s) => fc.string({ maxLength: 50 }).map((t) => s + t)),
);

describe('Jamf Classic XML', () => {
  it('the valid documents parse (the mutations start from real shapes)', () => {
    expect(parseJamfProfile(PROFILE_XML).payloads).toBe(MOBILECONFIG);
    expect(parseComputerGroup(GROUP_XML).computerIds).toEqual([101, 102]);
  });
  // The parser's own exceptions (e.g. fast-xml-parser's "Pi Tag is not closed.") must arrive as a
  // ResponseShapeError naming the system and call: a plain Error is a failure here.
  it('parseJamfProfile: mutated and random documents → profile or ResponseShapeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutate(PROFILE_XML), junk),
        (x) => void clean(() => parseJamfProfile(x), [ResponseShapeError]),
      ),
      opts,
    );
  });
  it('parseComputerGroup: mutated and random documents → group or ResponseShapeError', () => {
    fc.assert(
      fc.property(fc.oneof(mutate(GROUP_XML), junk), (x) => {
        const r = clean(() => parseComputerGroup(x), [ResponseShapeError]);
        if (!(r instanceof Error)) for (const id of r.computerIds) expect(Number.isSafeInteger(id)).toBe(true);
      }),
      opts,
    );
  });
  it('parseClassicErrorPage never throws and returns bounded single-line text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          junk,
          fc.string({ maxLength: 2000 }).map((t) => `<html><title>${t}</title><p>Error: ${t}</p></html>`),
        ),
        (x) => {
          const t = parseClassicErrorPage(x);
          expect(typeof t).toBe('string');
          expect(t.length).toBeLessThanOrEqual(500);
          expect(t).not.toMatch(/[\n\r]/);
        },
      ),
      opts,
    );
  });
  it('huge and nested documents are refused (a group of 50,000 is read)', () => {
    expect(
      clean(() => parseJamfProfile(`<os_x_configuration_profile>${'<a>'.repeat(100_000)}`), [ResponseShapeError]),
    ).toBeInstanceOf(ResponseShapeError);
    expect(
      clean(
        () =>
          parseJamfProfile(
            `<os_x_configuration_profile><general><payloads>${'x'.repeat(9 * 1024 * 1024)}</payloads></general></os_x_configuration_profile>`,
          ),
        [ResponseShapeError],
      ),
    ).toBeInstanceOf(ResponseShapeError);
    // 50,000 members is a real group size: parsed, not refused.
    const big = clean(
      () =>
        parseComputerGroup(
          `<computer_group><computers>${'<computer><id>1</id></computer>'.repeat(50_000)}</computers><id>1</id></computer_group>`,
        ),
      [ResponseShapeError],
    );
    expect(big instanceof Error ? big : big.computerIds.length).toBeGreaterThan(0);
  });
  it('buildJamfProfileUpdate either escapes losslessly or refuses with a RangeError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (p) => {
        const r = clean(() => buildJamfProfileUpdate(p), [RangeError]);
        if (typeof r === 'string') {
          const back = clean(
            () => parseJamfProfile(r.replace('<general>', '<general><id>1</id>')),
            [ResponseShapeError],
          );
          if (!(back instanceof Error)) expect(back.payloads).toBe(p.replace(/\r\n?/g, (m) => m)); // CR kept as &#13;
        }
      }),
      opts,
    );
  });
});

describe('mobileconfig plist', () => {
  it('readManagedSettings: mutated and random profiles → values or MobileconfigError', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutate(MOBILECONFIG), junk),
        (x) => void clean(() => readManagedSettings(x, NAMES), [MobileconfigError]),
      ),
      opts,
    );
  });
  it('writeManagedSettings: random values → a profile that reads back exactly, or MobileconfigError', () => {
    const id = fc.oneof(fc.stringMatching(/^key_[a-z0-9]{1,20}$/), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(MOBILECONFIG), mutate(MOBILECONFIG)),
        fc.string({ unit: 'binary', minLength: 0, maxLength: 80 }),
        id,
        fc.array(id, { maxLength: 4 }),
        (xml, apiKey, keyId, revoked) => {
          // The plist builder's own failures (an unparseable <date>, a character XML cannot carry)
          // must arrive as MobileconfigError, whose message never quotes the profile: nothing else.
          const out = clean(
            () => writeManagedSettings(xml, NAMES, { apiKey, keyId, revokedKeyIds: revoked }),
            [MobileconfigError],
          );
          if (typeof out === 'string') {
            const back = readManagedSettings(out, NAMES);
            expect(back.keyId?.toMdm()).toBe(keyId.trim() || undefined);
            expect(back.apiKey).toBe(apiKey);
          }
        },
      ),
      opts,
    );
  });
  it('parseRevokedIds: any plist value → ids or MobileconfigError', () => {
    const plistValue = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 5 }), tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    fc.assert(
      fc.property(
        fc.oneof(plistValue, fc.json()),
        (v) => void clean(() => parseRevokedIds(v as never, 'THOTH_REVOKED_API_KEY_IDS'), [MobileconfigError]),
      ),
      opts,
    );
  });
});

describe('thoth health --json (extension attribute / detection output)', () => {
  it('parseHealth never throws and classifies every input', () => {
    const health = fc.oneof(
      junk,
      fc.json(),
      fc
        .record({
          registration_ok: fc.anything(),
          api_key: fc.oneof(
            fc.anything(),
            fc.record({ key_id: fc.oneof(fc.string(), fc.anything()), revoked: fc.anything(), expired: fc.anything() }),
          ),
        })
        .map((o) => JSON.stringify(o) ?? ''),
      fc.string().map((s) => `<result>${s}{"api_key":{"key_id":"${s}"}}</result>`),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.array(health, { maxLength: 3 }), fc.constant(null), fc.constant(undefined), fc.anything()),
        (values) => {
          const r = parseHealth(values as never);
          expect(['ok', 'missing', 'invalid']).toContain(r.status);
          if (r.keyId !== undefined) expect(r.keyId).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
        },
      ),
      opts,
    );
  });
  it('a huge value is classified without parsing it', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(parseHealth([`{"api_key":{"key_id":"k"},"pad":"${'x'.repeat(10 * 1024 * 1024)}"}`]).status).toBe(
        'invalid',
      );
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });
});

describe('evidence record', () => {
  const RUN = { id: '1', attempt: 1, actor: 'octocat', sha: 'a'.repeat(40) };
  const genesis: EvidenceRecord = { ...sampleGenesis(), schema: EVIDENCE_SCHEMA };
  const valid = serializeRecord(
    (['claim', 'create-key', 'authorize'] as const).reduce<EvidenceRecord>(
      (r, step, i) =>
        appendEvent(r, { at: `2026-12-01T14:0${i}:00.000Z`, step, outcome: 'ok', detail: `step ${i}`, run: RUN }),
      genesis,
    ),
  );
  it('the valid record parses', () => expect(parseRecord(valid, 'e.json').events).toHaveLength(3));
  it('mutated, random and JSON-shaped junk → record or EvidenceError', () => {
    const jsonJunk = fc.oneof(
      fc.json(),
      fc
        .record({
          schema: fc.constantFrom(EVIDENCE_SCHEMA, 'x'),
          name: fc.anything(),
          events: fc.anything(),
          state: fc.anything(),
        })
        .map((o) => JSON.stringify(o) ?? 'null'),
    );
    fc.assert(
      fc.property(fc.oneof(mutate(valid), junk, jsonJunk), (x) => {
        const r = clean(() => parseRecord(x, 'e.json'), [EvidenceError]);
        if (r instanceof Error) expect(r.message).toContain('e.json');
      }),
      opts,
    );
  });
  it('deeply nested JSON is refused cleanly', () => {
    expect(
      clean(() => parseRecord(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'e.json'), [EvidenceError]),
    ).toBeInstanceOf(EvidenceError);
    expect(
      clean(() => parseRecord(`{"events":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`, 'e.json'), [EvidenceError]),
    ).toBeInstanceOf(EvidenceError);
  });
});

describe('Graph @odata.nextLink (src/clients/graph-batch.ts)', () => {
  const base = 'https://graph.microsoft.com/v1.0';
  it('same-origin links under the base are followed as paths', () => {
    expect(nextLinkPath('https://graph.microsoft.com/v1.0/groups/x/members?$skiptoken=abc', base)).toBe(
      '/groups/x/members?$skiptoken=abc',
    );
  });
  it('foreign hosts, other schemes, userinfo and paths outside the base are refused', () => {
    for (const link of [
      'https://evil.example/v1.0/groups',
      'http://graph.microsoft.com/v1.0/groups',
      'https://graph.microsoft.com.evil.example/v1.0/x',
      'https://user:pw@graph.microsoft.com/v1.0/x',
      'https://graph.microsoft.com/beta/x',
      'https://graph.microsoft.com/v1.0/../beta/x',
      '//evil.example/v1.0/x',
      '/v1.0/relative',
      'javascript:alert(1)',
    ]) {
      expect(() => nextLinkPath(link, base), link).toThrow(/refus/);
    }
  });
  it('random links: either a path under the base on the Graph origin, or a refusal', () => {
    const link = fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.string(),
      fc.webPath().map((p) => `https://graph.microsoft.com${p}`),
      fc.webPath().map((p) => `https://graph.microsoft.com/v1.0${p}`),
    );
    fc.assert(
      fc.property(link, (l) => {
        // nextLinkPath's refusal is a plain Error by design; it must be that refusal, nothing else.
        const r = clean(() => nextLinkPath(l, base), [Error]);
        if (r instanceof Error) expect(r.message).toMatch(/^graph: @odata\.nextLink .*refusing/);
        if (typeof r === 'string') {
          expect(new URL(l).origin).toBe('https://graph.microsoft.com');
          expect(new URL(`https://graph.microsoft.com/v1.0${r}`).pathname.startsWith('/v1.0/')).toBe(true);
        }
      }),
      opts,
    );
  });
});

// ---- clients through the real HttpClient --------------------------------------------------------

type Answer = { status: number; body: string; headers?: Record<string, string> };
let answer: (method: string, path: string) => Answer = () => ({ status: 200, body: '{}' });
let server: http.Server;
let url = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answer(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const ONE_TRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 };
const fieldValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);
function shaped(keys: string[]): fc.Arbitrary<string> {
  return fc.dictionary(fc.constantFrom(...keys), fieldValue).map((o) => JSON.stringify(o));
}
const thothBody = fc.oneof(
  junk,
  fc.json(),
  shaped(['fleet_id', 'region', 'name']),
  shaped(['api_keys']).map((s) => s),
  fc
    .array(shaped(['key_id', 'name', 'active', 'prefix', 'scope_level', 'permissions', 'expires_at']), { maxLength: 3 })
    .map((a) => `{"api_keys":[${a.join(',')}]}`),
  shaped(['key_id', 'api_key', 'prefix', 'expires_at']),
  shaped(['valid', 'permission_allowed', 'scope_allowed', 'expired']),
  fc
    .array(shaped(['endpoint_id', 'hostname', 'managed_runtime_key_id', 'last_seen']), { maxLength: 3 })
    .map((a) => `{"data":[${a.join(',')}]}`),
);
const status = fc.constantFrom(200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 503, 302);

/** Every outcome of a client call: a value, or one of the clean errors. */
const HANG = Symbol('hang');
async function cleanAsync(
  p: Promise<unknown>,
  alsoAllowed: readonly (new (...a: never[]) => Error)[] = [],
  hangOk = false,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      p,
      new Promise((res) => (timer = setTimeout(() => res(HANG), hangOk ? 200 : 5_000))),
    ]);
    if (r === HANG) {
      p.catch(() => undefined);
      expect(hangOk, 'the call did not finish within 5 s (hang or request loop)').toBe(true);
    }
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    // The typed errors only: a plain Error (a library's exception, a bare SyntaxError) is a failure.
    const ok =
      e instanceof HttpError ||
      e instanceof ResponseShapeError ||
      e instanceof MobileconfigError ||
      alsoAllowed.some((c) => e instanceof c);
    expect(ok, `unexpected ${(e as Error).name}: ${(e as Error).message}`).toBe(true);
    expect((e as Error).message.length).toBeGreaterThan(0);
  } finally {
    clearTimeout(timer);
  }
}

describe('Thoth client: zod shapes of every response', () => {
  it(
    'every call on fuzzed status + body → value or clean error',
    async () => {
      const thoth = createThothClient({
        baseUrl: url,
        tenant: 'acme',
        credential: { kind: 'api-key', value: 'org-key-value-123' },
        retry: ONE_TRY,
        timeoutMs: 2_000,
      });
      await fc.assert(
        fc.asyncProperty(status, thothBody, fc.nat(5), async (st, body, which) => {
          answer = () => ({ status: st, body });
          const calls = [
            () => thoth.getFleet('flt-1'),
            () => thoth.listKeys(),
            () => thoth.createKey({ scopeLevel: 'fleet', scopeTargetId: 'flt-1', permissions: ['read'], name: 'n' }),
            () =>
              thoth.authorize({
                keyId: 'key_1',
                apiKey: new SecretValue('secret-value-1'),
                permission: 'read',
                resourceType: 'fleet',
                resourceId: 'flt-1',
              }),
            () => thoth.revokeKey('key_1'),
            () => thoth.listEndpoints('flt-1'),
          ];
          await cleanAsync(calls[which]!());
        }),
        { ...opts, numRuns: RUNS * 2 },
      );
      await thoth.close();
    },
    60_000 + RUNS * 100,
  );
});

describe('Jamf client: XML and zod shapes of every response', () => {
  it(
    'every call on fuzzed status + body → value or clean error',
    async () => {
      const jamfBody = fc.oneof(
        junk,
        fc.json(),
        mutate(PROFILE_XML),
        mutate(GROUP_XML),
        shaped(['members']),
        fc
          .array(shaped(['id', 'general', 'extensionAttributes']), { maxLength: 3 })
          .map((a) => `{"totalCount":${a.length},"results":[${a.join(',')}]}`),
        shaped(['totalCount', 'results']),
        shaped(['errorUuids']),
        shaped(['version']),
      );
      // Each Jamf generation's calls (jamf-versions.ts); call 5 fuzzes the version answer itself.
      const version = fc.constantFrom('11.5.1-t1718634702', '11.25.2-t1772925731845', '11.32.0-t1787580540993');
      await fc.assert(
        fc.asyncProperty(status, jamfBody, fc.nat(5), fc.boolean(), version, async (st, body, which, tokenOk, v) => {
          answer = (_m, path) =>
            path.endsWith('/oauth/token')
              ? tokenOk
                ? { status: 200, body: '{"access_token":"tok-abcdef-123","expires_in":600}' }
                : { status: st, body }
              : path.endsWith('/invalidate-token')
                ? { status: 204, body: '' }
                : path.endsWith('/jamf-pro-version') && which !== 5
                  ? { status: 200, body: JSON.stringify({ version: v }) }
                  : { status: st, body };
          const jamf = createJamfClient({
            url,
            clientId: 'id',
            clientSecret: 'client-secret-value',
            retry: ONE_TRY,
            timeoutMs: 2_000,
          });
          const calls = [
            () => jamf.getProfile(123),
            () => jamf.groupMembers(45),
            // The inventory signature is being reworked elsewhere (streaming callback); pass both shapes' arguments.
            () =>
              (jamf.inventory as (...a: unknown[]) => Promise<unknown>)([101, 102], 'Thoth Health', () => undefined),
            () =>
              jamf.blankPush([
                { id: 1, managementId: 'm-1' },
                { id: 2, managementId: 'm-2' },
              ]),
            () => jamf.putProfilePayloads(123, MOBILECONFIG),
            () => jamf.apiShape(),
          ];
          await cleanAsync(calls[which]!(), [JamfVersionError], false);
          await jamf.close();
        }),
        { ...opts, numRuns: RUNS * 2 },
      );
    },
    60_000 + RUNS * 200,
  );
});

describe('fixed issues, pinned', () => {
  it('Jamf inventory: answers with ids that were not asked for and a larger totalCount end in an error, not a request loop', async () => {
    let requests = 0;
    answer = (_m, path) => {
      if (path.endsWith('/oauth/token'))
        return { status: 200, body: '{"access_token":"tok-abcdef-123","expires_in":600}' };
      if (path.endsWith('/invalidate-token')) return { status: 204, body: '' };
      if (path.endsWith('/jamf-pro-version')) return { status: 200, body: '{"version":"11.32.0-t1787580540993"}' };
      requests++;
      return { status: 200, body: '{"totalCount":2,"results":[{"id":"999"}]}' };
    };
    const jamf = createJamfClient({
      url,
      clientId: 'id',
      clientSecret: 'client-secret-value',
      retry: ONE_TRY,
      timeoutMs: 2_000,
    });
    try {
      const done = (jamf.inventory as (...a: unknown[]) => Promise<unknown>)(
        [101, 102],
        'Thoth Health',
        () => undefined,
      ).then(
        () => 'done',
        () => 'error',
      );
      const r = await Promise.race([done, new Promise((res) => setTimeout(() => res('hang'), 2_000))]);
      expect(r, `${requests} requests sent`).toBe('error');
    } finally {
      await jamf.close();
    }
  });

  it('Jamf groupMembers: a non-JSON 200 (proxy page) becomes a ResponseShapeError, not a bare SyntaxError', async () => {
    answer = (_m, path) =>
      path.endsWith('/oauth/token')
        ? { status: 200, body: '{"access_token":"tok-abcdef-123","expires_in":600}' }
        : path.endsWith('/invalidate-token')
          ? { status: 204, body: '' }
          : path.endsWith('/jamf-pro-version')
            ? { status: 200, body: '{"version":"11.32.0-t1787580540993"}' }
            : { status: 200, body: '<html>Sign in</html>' };
    const jamf = createJamfClient({
      url,
      clientId: 'id',
      clientSecret: 'client-secret-value',
      retry: ONE_TRY,
      timeoutMs: 2_000,
    });
    try {
      await expect(jamf.groupMembers(45)).rejects.toBeInstanceOf(ResponseShapeError);
    } finally {
      await jamf.close();
    }
  });
});
