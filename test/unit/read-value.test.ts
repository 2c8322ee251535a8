import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const masked = vi.hoisted(() => [] as string[]);
vi.mock('../../src/secrets.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/secrets.js')>();
  return { ...real, registerSecret: (v: string | undefined) => void (v && masked.push(v)) };
});

const { ReadValue, UNRECOGNISED, describeKeyIds, releaseAll, sameKeyId, uniqueKeyIds } = await import(
  '../../src/mdm/read-value.js'
);
const { mergeReadValues, readBackProblem } = await import('../../src/mdm/provider.js');
const { preflight } = await import('../../src/rotation/preflight.js');
const { SecretValue } = await import('../../src/secret-value.js');
type Intent = import('../../src/intent/types.js').Intent;
type ConfigSnapshot = import('../../src/mdm/provider.js').ConfigSnapshot;

/** What an intent could make the action read as "the key id": the fleet's plaintext key. */
const PLAINTEXT = 'thoth_live_Zx9PLAINTEXTkeyMaterial0123456789';
const KEYS = [
  { keyId: 'key_deployed1', active: true },
  { keyId: 'key_revoked01', active: false },
];

beforeEach(() => {
  masked.length = 0;
});

describe('ReadValue: opaque until released', () => {
  const v = new ReadValue(PLAINTEXT, 'THOTH_API_KEY');

  it('never prints its text: template literal, String, JSON, inspect, error message', () => {
    const renderings = [
      `${v}`,
      String(v),
      JSON.stringify({ keyId: v, list: [v] }),
      inspect(v),
      inspect({ v }),
      new Error(`delivers ${v}`).message,
    ];
    for (const r of renderings) expect(r).not.toContain(PLAINTEXT);
    expect(`${v}`).toBe(UNRECOGNISED);
    expect(JSON.stringify({ oldKeyId: v })).toBe(`{"oldKeyId":"${UNRECOGNISED}"}`);
  });

  it('compares without exposing: with strings and with other read values', () => {
    expect(v.is(PLAINTEXT)).toBe(true);
    expect(v.is('key_deployed1')).toBe(false);
    expect(v.is(undefined)).toBe(false);
    expect(v.is(new ReadValue(PLAINTEXT, 'other'))).toBe(true);
    expect(sameKeyId('key_a', new ReadValue('key_a', 'S'))).toBe(true);
    expect(sameKeyId(new ReadValue('key_a', 'S'), 'key_b')).toBe(false);
    expect(sameKeyId(undefined, undefined)).toBe(true);
    expect(sameKeyId(undefined, 'key_a')).toBe(false);
    expect(masked).toEqual([]);
  });

  it('release: a listed id comes back as the control plane spells it, and is not masked', () => {
    expect(new ReadValue('key_deployed1', 'THOTH_API_KEY_ID').release(KEYS)).toBe('key_deployed1');
    expect(new ReadValue('key_revoked01', 'THOTH_API_KEY_ID').release(KEYS)).toBe('key_revoked01');
    expect(masked).toEqual([]);
  });

  it('release: anything else is masked before release returns, and stays opaque', () => {
    expect(v.release(KEYS)).toBeUndefined();
    expect(masked).toEqual([PLAINTEXT]);
    expect(`${v}`).toBe(UNRECOGNISED);
    // A near miss is no match: ids are compared exactly.
    expect(new ReadValue('KEY_DEPLOYED1', 'S').release(KEYS)).toBeUndefined();
    expect(new ReadValue(' key_deployed1', 'S').release(KEYS)).toBeUndefined();
  });

  it('releaseAll: listed ids by name, the rest masked and kept opaque', () => {
    const r = releaseAll(
      [new ReadValue('key_revoked01', 'R'), new ReadValue('alice@example.com', 'R'), new ReadValue(PLAINTEXT, 'R')],
      KEYS,
    );
    expect(r.listed).toEqual(['key_revoked01']);
    expect(r.unrecognised.map((u) => u.source)).toEqual(['R', 'R']);
    expect(masked).toEqual(['alice@example.com', PLAINTEXT]);
  });

  it('describeKeyIds names plain ids and only counts read values; uniqueKeyIds de-duplicates across forms', () => {
    expect(describeKeyIds(['key_new', new ReadValue(PLAINTEXT, 'R'), new ReadValue('x', 'R')])).toBe(
      'key_new, 2 value(s) read from the configuration',
    );
    expect(describeKeyIds([])).toBe('none');
    const list = uniqueKeyIds([new ReadValue('key_a', 'R'), 'key_a', 'key_b', new ReadValue('key_b', 'R')]);
    expect(list.map((x) => (typeof x === 'string' ? x : x.toMdm()))).toEqual(['key_a', 'key_b']);
  });
});

describe('messages about values read never quote them', () => {
  const item = (kind: 'intune-macos' | 'intune-windows', id: string) => ({ kind, id, raw: '' });

  it('mergeReadValues: documents that disagree are named, their values are not', () => {
    const reads = [
      {
        item: item('intune-macos', 'cfg-1'),
        keyId: new ReadValue('key_deployed1', 'THOTH_API_KEY_ID'),
        revokedKeyIds: [],
      },
      {
        item: item('intune-windows', 'rem-2'),
        keyId: new ReadValue(PLAINTEXT, '{{THOTH_API_KEY_ID}}'),
        revokedKeyIds: [],
      },
    ];
    expect(() => mergeReadValues(reads)).toThrow(
      /intune-macos cfg-1, intune-windows rem-2 do not carry the same value/,
    );
    const message = (() => {
      try {
        mergeReadValues(reads);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).not.toContain(PLAINTEXT);
    expect(message).not.toContain('key_deployed1');
  });

  it('mergeReadValues: agreeing documents merge, revoked ids de-duplicated', () => {
    const a = new ReadValue('key_r', 'R');
    const merged = mergeReadValues([
      { item: item('intune-macos', 'c'), keyId: new ReadValue('key_x', 'K'), revokedKeyIds: [a] },
      {
        item: item('intune-windows', 'w'),
        keyId: new ReadValue('key_x', 'K'),
        revokedKeyIds: [new ReadValue('key_r', 'R'), new ReadValue('key_s', 'R')],
      },
    ]);
    expect(merged.keyId?.is('key_x')).toBe(true);
    expect(merged.revokedKeyIds.map((r) => r.toMdm())).toEqual(['key_r', 'key_s']);
  });

  it('readBackProblem: names what was wanted (new ids by name), never what came back', () => {
    const back = { keyId: new ReadValue(PLAINTEXT, 'K'), revokedKeyIds: [new ReadValue('alice@example.com', 'R')] };
    const problem = readBackProblem(
      { keyId: 'key_new1', revokedKeyIds: ['key_gone', new ReadValue('key_kept', 'R')] },
      back,
    )!;
    expect(problem).toBe(
      'key id key_new1 not delivered; revoked ids missing: key_gone, 1 value(s) read from the configuration',
    );
    expect(problem).not.toContain(PLAINTEXT);
    expect(
      readBackProblem(
        { keyId: 'key_new1', revokedKeyIds: [] },
        { keyId: new ReadValue('key_new1', 'K'), revokedKeyIds: [] },
      ),
    ).toBeUndefined();
  });
});

describe('preflight releases what the configuration holds before saying anything about it', () => {
  const intent = {
    name: 'corpsec',
    tenant: 'acme',
    fleet: { id: 'flt-1', region: 'us-east-1' },
    validation: { windowMs: 1000, minHealthy: 0.9, activeWithinMs: 86_400_000, timeoutMs: 1000, pollIntervalMs: 100 },
    mdm: {
      provider: 'jamf',
      jamf: { url: 'https://x.jamfcloud.com', profileId: 1, groupId: 2 },
      settings: {
        domain: 'com.atensecurity.thoth',
        apiKey: 'UNUSED',
        keyId: 'THOTH_API_KEY',
        revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
      },
    },
  } as unknown as Intent;
  const snapshot = (keyId: string | undefined, revoked: string[] = []): ConfigSnapshot => ({
    items: [{ kind: 'jamf-profile', id: '1', raw: '' }],
    keyId: keyId === undefined ? undefined : new ReadValue(keyId, 'THOTH_API_KEY'),
    apiKey: new SecretValue('thoth_live_apikeyvalue0000'),
    revokedKeyIds: revoked.map((r) => new ReadValue(r, 'THOTH_REVOKED_API_KEY_IDS')),
  });
  const deps = (snap: ConfigSnapshot, i: Intent = intent) => ({
    intent: i,
    now: () => new Date(),
    thoth: {
      getFleet: async () => ({ fleet_id: 'flt-1', region: 'us-east-1' }),
      listKeys: async () => KEYS,
      listEndpoints: async () => [],
    } as never,
    mdm: {
      readConfig: async () => snap,
      members: async () => [{ mdmId: '1', name: 'mac', refreshId: 'r', lastContact: Date.now() }],
    } as never,
  });

  it('a value the tenant does not list: a problem naming the setting, masked, never the value, no old key id', async () => {
    const pre = await preflight(deps(snapshot(PLAINTEXT)));
    expect(pre.problems).toHaveLength(1);
    expect(pre.problems[0]).toMatch(
      /^the configuration's THOTH_API_KEY holds a value that is not a key id of this tenant \(acme\); it is not shown/,
    );
    expect(JSON.stringify(pre.problems) + JSON.stringify(pre.warnings) + pre.oldKeyId).not.toContain(PLAINTEXT);
    expect(pre.oldKeyId).toBe('');
    expect(masked).toContain(PLAINTEXT);
  });

  it('a listed key id is released: the old key id, not masked', async () => {
    const pre = await preflight(deps(snapshot('key_deployed1', ['key_revoked01'])));
    expect(pre.problems).toEqual([]);
    expect(pre.oldKeyId).toBe('key_deployed1');
    expect(pre.oldKey?.keyId).toBe('key_deployed1');
    expect(masked.filter((m) => m.startsWith('key_'))).toEqual([]);
  });

  it('an unrecognised revoked entry: a problem naming the setting with a count, masked', async () => {
    const pre = await preflight(deps(snapshot('key_deployed1', ['key_revoked01', PLAINTEXT, 'alice@example.com'])));
    expect(pre.problems).toEqual([
      expect.stringMatching(
        /^the configuration's THOTH_REVOKED_API_KEY_IDS holds 2 values that are not a key id of this tenant \(acme\); not shown/,
      ),
    ]);
    expect(pre.problems.join()).not.toMatch(/thoth_live_|alice/);
    expect(masked).toEqual(expect.arrayContaining([PLAINTEXT, 'alice@example.com']));
  });

  it('current.keyId is compared with the released id only: an unrecognised value is not compared, not quoted', async () => {
    const declared = { ...intent, current: { keyId: 'key_deployed1' } } as Intent;
    const mismatch = await preflight(deps(snapshot('key_revoked01'), declared));
    expect(mismatch.problems).toEqual([
      'current.keyId is key_deployed1 but the MDM configuration delivers key_revoked01; update the intent or the configuration',
    ]);
    const hidden = await preflight(deps(snapshot(PLAINTEXT), declared));
    expect(hidden.problems).toHaveLength(1);
    expect(hidden.problems[0]).toMatch(/holds a value that is not a key id/);
    expect(hidden.oldKeyId).toBe('');
  });

  it("no value read: current.keyId (the intent's own text) is the old key id", async () => {
    const declared = { ...intent, current: { keyId: 'key_deployed1' } } as Intent;
    expect((await preflight(deps(snapshot(undefined), declared))).oldKeyId).toBe('key_deployed1');
    expect((await preflight(deps(snapshot(undefined)))).problems).toEqual([expect.stringMatching(/names no key id/)]);
  });
});

describe('only the MDM writers read a value out', () => {
  it('toMdm / mdmText appear in src only where a configuration is written back', () => {
    const root = path.resolve(import.meta.dirname, '../../src');
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const users = files
      .filter((f) => /\.toMdm\(|\bmdmText\(/.test(readFileSync(path.join(root, f), 'utf8')))
      .map((f) => f.split(path.sep).join('/'))
      .sort();
    expect(users).toEqual(['mdm/intune-provider.ts', 'mdm/jamf-provider.ts', 'mdm/read-value.ts']);
  });
});
