/**
 * Hostile input to the intent loader (issue #6, item 4): random YAML-ish text and mutated
 * valid intents, written to real files. The loader must either return intents or throw a
 * ConfigError — never another exception — and answer in bounded time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadIntents } from '../../src/intent/load.js';
import { fuzzSeed } from './fuzz-seed.js';

const GOOD = fileURLToPath(new URL('../fixtures/intents/good/', import.meta.url));
const valid = ['jamf-once.yaml', 'jamf-weekly.yaml', 'intune-both.yml'].map((f) =>
  readFileSync(path.join(GOOD, f), 'utf8'),
);
const dir = mkdtempSync(path.join(tmpdir(), 'thoth-intent-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEED = fuzzSeed();
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
let n = 0;

/** Load `text` as an intent file; returns what happened, failing on anything but intents or a ConfigError. */
async function load(text: string | Buffer): Promise<'ok' | 'config-error'> {
  const file = path.join(dir, `i${++n}.yaml`);
  writeFileSync(file, text);
  try {
    await loadIntents(file, { workspace: dir });
    return 'ok';
  } catch (e) {
    if (!(e instanceof ConfigError))
      throw new Error(
        `loader threw ${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 300)}\n--- input ---\n${String(text).slice(0, 2000)}`,
      );
    expect(e.problems.length).toBeGreaterThan(0);
    for (const p of e.problems) {
      expect(typeof p.problem).toBe('string');
      expect(p.problem.length).toBeGreaterThan(0);
    }
    return 'config-error';
  }
}

const TOKENS = [
  'version: 1',
  'name: ',
  'tenant: acme',
  'fleet:',
  '  id: ',
  '  region: ',
  'key:',
  '  scope: ',
  'permissions: [read]',
  'window:',
  'start: ',
  'end: ',
  'schedule: "0 14 * * 2"',
  'duration: 4h',
  'validation:',
  'minHealthy: ',
  'mdm:',
  '  provider: jamf',
  '  jamf:',
  '    url: ',
  'profileId: ',
  'groupId: ',
  '- ',
  '-',
  ':',
  ': ',
  '&a ',
  '*a',
  '<<: *a',
  '!!str ',
  '!!binary ',
  '!!js/function ',
  '? ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '|',
  '>',
  '#',
  '%YAML 1.2',
  '---',
  '...',
  '__proto__: {}',
  'constructor: x',
  '\t',
  '  ',
  '    ',
  '\n',
  '\r\n',
  'null',
  '~',
  'true',
  '1e999',
  '-1',
  '0x1F',
  '2026-12-01T14:00:00Z',
  'http://example.com',
  'https://127.0.0.1',
  '%2F..%2F',
  '../../etc/passwd',
  '\u0000',
  '\uFEFF',
  'é',
  '🔑',
  '90d',
  '0s',
  '-5m',
];

const yamlish = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 12 }), fc.stringMatching(/^[a-z]{1,8}$/)), {
    maxLength: 120,
  })
  .map((a) => a.join(''));

type Mutation = (lines: string[], rnd: { i: number; j: number; s: string }) => string[];
const MUTATIONS: Mutation[] = [
  (l, r) => l.filter((_, k) => k !== r.i % l.length), // drop a line
  (l, r) => [...l.slice(0, r.i % l.length), l[r.i % l.length]!, ...l.slice(r.i % l.length)], // duplicate a line
  (l, r) => {
    const a = [...l];
    const i = r.i % a.length;
    const j = r.j % a.length;
    [a[i], a[j]] = [a[j]!, a[i]!];
    return a;
  }, // swap
  (l, r) => l.map((x, k) => (k === r.i % l.length ? x.replace(/: .*/, `: ${r.s}`) : x)), // replace a value
  (l, r) => l.map((x, k) => (k === r.i % l.length ? ` ${x}` : x)), // indent
  (l, r) => l.map((x, k) => (k === r.i % l.length ? x.trimStart() : x)), // dedent
  (l, r) => [...l.slice(0, r.i % l.length), r.s, ...l.slice(r.i % l.length)], // insert junk
  (l, r) => l.slice(0, Math.max(1, r.i % l.length)), // truncate
  (l, r) =>
    l.map((x, k) => (k === r.i % l.length ? x.replace(/^(\s*)[\w.]+:/, `$1${r.s.replace(/[:\n]/g, '') || 'x'}:`) : x)), // rename a key
  (l, r) => l.map((x, k) => (k === r.i % l.length ? `${x} ${r.s}` : x)), // append junk
];

const mutated = fc
  .tuple(
    fc.constantFrom(...valid),
    fc.array(
      fc.tuple(
        fc.nat(MUTATIONS.length - 1),
        fc.nat(400),
        fc.nat(400),
        fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 20 })),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([text, ms]) =>
    ms.reduce((lines, [m, i, j, s]) => MUTATIONS[m]!(lines, { i, j, s }), text.split('\n')).join('\n'),
  );

describe('intent loader under hostile input', () => {
  it('each valid fixture loads (the mutations start from real intents)', async () => {
    for (const v of valid.slice(0, 2)) expect(await load(v)).toBe('ok');
  });

  it('random YAML-ish text → intents or ConfigError only', async () => {
    await fc.assert(
      fc.asyncProperty(yamlish, async (t) => void (await load(t))),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);

  it(`mutated valid intents → intents or ConfigError only`, async () => {
    const seen = { ok: 0, 'config-error': 0 };
    await fc.assert(
      fc.asyncProperty(mutated, async (t) => void seen[await load(t)]++),
      { seed: SEED, numRuns: RUNS * 2 },
    );
    expect(seen['config-error']).toBeGreaterThan(0);
  }, 120_000);

  it('random bytes (not UTF-8, NULs, BOMs) → ConfigError only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (b) => void (await load(Buffer.from(b)))),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);

  it('size and expansion attacks are refused quickly', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 12 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    ].join('\n');
    expect(await load(bomb)).toBe('config-error');
    expect(await load(`version: 1\nname: x\n${'#'.repeat(70 * 1024)}\n`)).toBe('config-error');
    expect(await load(`${'['.repeat(5000)}${']'.repeat(5000)}`)).toBe('config-error');
    expect(await load(`${'- '.repeat(3000)}x`)).toBe('config-error');
    expect(await load(`a: ${'{'.repeat(3000)}`)).toBe('config-error');
  }, 60_000);
});
