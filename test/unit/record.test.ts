import { describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn() }));

const { registerSecret } = await import('../../src/secrets.js');
const rec = await import('../../src/evidence/record.js');
const { appendEvent, canonicalJson, EVIDENCE_SCHEMA, EvidenceError, fingerprint, genesisHash, parseRecord, serializeRecord, verifyChain } = rec;
type EvidenceRecord = import('../../src/evidence/record.js').EvidenceRecord;

const RUN = { id: '9876543210', attempt: 1, actor: 'octocat', sha: 'a'.repeat(40) };
const base = (): EvidenceRecord => ({
  schema: EVIDENCE_SCHEMA,
  name: 'corpsec-macos-2026-12',
  ticket: 'SEC-1234',
  tenant: 'acme',
  fleet: { id: 'flt-corpsec-macos', region: 'us-east-1' },
  intent: { path: '.thoth/rotations/corpsec.yaml', sha256: 'b'.repeat(64) },
  state: 'pending',
  events: [],
});
const STEPS = ['window-check', 'key-created', 'authorized', 'mdm-snapshot', 'profile-updated', 'refresh-sent'];
const withEvents = (n = STEPS.length): EvidenceRecord =>
  STEPS.slice(0, n).reduce(
    (r, step, i) => appendEvent(r, { at: `2026-12-01T14:0${i}:00.000Z`, step, outcome: 'ok', detail: `step ${i}`, run: RUN }),
    base(),
  );

describe('canonicalJson', () => {
  const cases: { name: string; input: unknown; expected: string }[] = [
    { name: 'sorted keys, nested', input: { b: 1, a: { d: [1, { z: 0, y: 'x' }], c: null } }, expected: '{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}' },
    { name: 'undefined members dropped', input: { a: undefined, b: true }, expected: '{"b":true}' },
    { name: 'undefined in arrays → null', input: [undefined, 1], expected: '[null,1]' },
    { name: 'strings escaped like JSON', input: { 'k"\n': 'v\u2028' }, expected: '{"k\\"\\n":"v\u2028"}' },
    { name: 'dates via toJSON', input: { at: new Date(Date.UTC(2026, 0, 1)) }, expected: '{"at":"2026-01-01T00:00:00.000Z"}' },
    { name: 'scalars', input: 'x', expected: '"x"' },
  ];
  it.each(cases)('$name', ({ input, expected }) => expect(canonicalJson(input)).toBe(expected));
  it('is insensitive to key insertion order', () => {
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
  it('refuses values JSON would silently turn into null', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
  });
});

describe('fingerprint', () => {
  it('is sha256: + hex and one-way', () => {
    const f = fingerprint('thoth_live_secret');
    expect(f).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(f).not.toContain('thoth_live_secret');
    expect(fingerprint('thoth_live_secret')).toBe(f);
    expect(fingerprint('thoth_live_secreT')).not.toBe(f);
  });
});

describe('appendEvent / verifyChain', () => {
  it('chains from the genesis hash and verifies', () => {
    const r = withEvents();
    expect(r.events).toHaveLength(STEPS.length);
    expect(r.events[0]!.chain.prev).toBe(genesisHash(r));
    for (let i = 1; i < r.events.length; i++) expect(r.events[i]!.chain.prev).toBe(r.events[i - 1]!.chain.hash);
    expect(verifyChain(r)).toEqual({ ok: true });
    expect(verifyChain(base())).toEqual({ ok: true });
  });

  it('refuses an event the next run could not read back', () => {
    const ok = { at: '2026-12-01T14:00:00Z', step: 's', outcome: 'ok' as const, detail: '', run: RUN };
    expect(() => appendEvent(base(), { ...ok, at: '2026-12-01 14:00' })).toThrow(/at/);
    expect(() => appendEvent(base(), { ...ok, at: '2026-12-01T16:00:00+02:00' })).toThrow(/at/);
    expect(() => appendEvent(base(), { ...ok, step: '' })).toThrow(/step/);
    expect(() => appendEvent(base(), { ...ok, outcome: 'meh' as 'ok' })).toThrow(/outcome/);
    expect(() => appendEvent(base(), { ...ok, run: { ...RUN, attempt: 1.5 } })).toThrow(/run\.attempt/);
  });

  it('does not mutate its input', () => {
    const r = withEvents(2);
    const copy = structuredClone(r);
    appendEvent(r, { at: '2026-12-01T15:00:00Z', step: 'x', outcome: 'info', detail: '', run: RUN });
    expect(r).toEqual(copy);
  });

  it('binds the chain to the rotation (genesis covers schema, tenant, fleet, name)', () => {
    const r = withEvents(2);
    for (const edit of [{ tenant: 'other' }, { name: 'other' }, { fleet: { id: 'flt-x', region: 'us-east-1' } }]) {
      expect(verifyChain({ ...r, ...edit })).toMatchObject({ ok: false, index: 0 });
    }
  });

  it('scrubs known secrets from free text before hashing', () => {
    registerSecret('thoth_live_LEAKED_in_detail_123');
    const r = appendEvent(base(), { at: '2026-12-01T14:00:00Z', step: 'authorize', outcome: 'failed', detail: 'server said thoth_live_LEAKED_in_detail_123 is bad', run: RUN });
    expect(r.events[0]!.detail).toBe('server said *** is bad');
    expect(verifyChain(r)).toEqual({ ok: true });
  });

  type Tamper = { name: string; edit: (r: EvidenceRecord) => void; index: number };
  const tampers: Tamper[] = [
    { name: 'detail edited', edit: (r) => (r.events[2]!.detail = 'nothing happened'), index: 2 },
    { name: 'outcome edited', edit: (r) => (r.events[4]!.outcome = 'failed'), index: 4 },
    { name: 'timestamp edited', edit: (r) => (r.events[0]!.at = '2026-12-01T13:00:00.000Z'), index: 0 },
    { name: 'run actor edited', edit: (r) => (r.events[3]!.run.actor = 'mallory'), index: 3 },
    { name: 'run attempt edited', edit: (r) => (r.events[5]!.run.attempt = 2), index: 5 },
    { name: 'field added to an event', edit: (r) => ((r.events[1] as unknown as Record<string, unknown>).extra = 1), index: 1 },
    { name: 'hash rewritten to match new content', edit: (r) => { r.events[2]!.detail = 'x'; r.events[2]!.chain.hash = 'f'.repeat(64); }, index: 2 },
    { name: 'two events swapped', edit: (r) => { const [a, b] = [r.events[1]!, r.events[3]!]; r.events[1] = b; r.events[3] = a; }, index: 1 },
    { name: 'adjacent events swapped', edit: (r) => r.events.splice(4, 2, r.events[5]!, r.events[4]!), index: 4 },
    { name: 'first event deleted', edit: (r) => r.events.splice(0, 1), index: 0 },
    { name: 'middle event deleted', edit: (r) => r.events.splice(2, 1), index: 2 },
    { name: 'event duplicated', edit: (r) => r.events.splice(3, 0, structuredClone(r.events[2]!)), index: 3 },
    { name: 'event inserted with a fresh but unlinked chain', edit: (r) => r.events.splice(1, 0, { ...structuredClone(r.events[0]!), detail: 'forged' }), index: 1 },
  ];
  it.each(tampers)('detects: $name (at index $index)', ({ edit, index }) => {
    const r = structuredClone(withEvents());
    edit(r);
    const v = verifyChain(r);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.index).toBe(index);
      expect(v.problem).toMatch(/chain\./);
    }
  });

  it('a chain re-computed by a forger still fails on the first edited event if any later hash is kept', () => {
    const r = structuredClone(withEvents());
    r.events[1]!.detail = 'rewritten';
    // Forger fixes event 1's own hash but not event 2's prev link.
    const forged = appendEvent({ ...r, events: r.events.slice(0, 1) }, { ...r.events[1]!, chain: undefined } as never);
    r.events[1] = forged.events[1]!;
    expect(verifyChain(r)).toMatchObject({ ok: false, index: 2 });
  });
});

describe('serializeRecord / parseRecord', () => {
  const full = (): EvidenceRecord => ({
    ...withEvents(),
    state: 'refreshed',
    zExtra: { note: 'kept' },
    aExtra: 1,
    newKey: { keyId: 'key_new456', prefix: 'thoth_live_ab', expiresAt: '2027-03-01T00:00:00Z', fingerprint: fingerprint('k') },
    oldKey: { keyId: 'key_old123' },
    refreshSentAt: '2026-12-01T14:05:00.000Z',
    validation: {
      at: '2026-12-01T14:35:00Z', total: 3, active: 2, healthy: 2, onOldKey: 0, notCheckedIn: 0, inactive: 1, healthyShare: 1,
      stragglers: [], stragglersOmitted: 0,
    },
    rollbackSeal: { alg: 'AES-256-GCM', iv: 'AAAAAAAAAAAAAAAA', tag: 'AAAAAAAAAAAAAAAAAAAAAA==', ciphertext: 'AA==', aad: 'x' },
  });

  it('writes 2-space JSON with a trailing newline and a fixed top-level order', () => {
    const text = serializeRecord(full());
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe(`  "schema": "${EVIDENCE_SCHEMA}",`);
    const keys = Object.keys(JSON.parse(text) as object);
    expect(keys).toEqual([
      'schema', 'name', 'ticket', 'tenant', 'fleet', 'intent', 'state', 'oldKey', 'newKey', 'refreshSentAt', 'validation',
      'rollbackSeal', 'aExtra', 'zExtra', 'events',
    ]);
  });

  it('is stable regardless of the in-memory key order', () => {
    const a = full();
    const b = Object.fromEntries(Object.entries(a).reverse()) as EvidenceRecord;
    expect(serializeRecord(b)).toBe(serializeRecord(a));
  });

  it('round-trips through parseRecord', () => {
    const r = full();
    const back = parseRecord(serializeRecord(r), 'evidence.json');
    expect(back).toEqual(r);
    expect(serializeRecord(back)).toBe(serializeRecord(r));
  });

  it('scrubs a secret that slipped into a top-level field', () => {
    registerSecret('thoth_live_TOPLEVEL_leak_456');
    const text = serializeRecord({ ...full(), reason: 'rotated thoth_live_TOPLEVEL_leak_456' });
    expect(text).not.toContain('thoth_live_TOPLEVEL_leak_456');
    expect(() => parseRecord(text, 'f.json')).not.toThrow();
  });

  const bad: { name: string; text: () => string; message: RegExp }[] = [
    { name: 'not JSON', text: () => '{', message: /^\.thoth\/evidence\/f\/n\.json: not valid JSON/ },
    { name: 'wrong schema', text: () => JSON.stringify({ ...full(), schema: 'v0' }), message: /schema/ },
    { name: 'unknown state', text: () => JSON.stringify({ ...full(), state: 'done' }), message: /state/ },
    { name: 'missing fleet', text: () => JSON.stringify({ ...full(), fleet: undefined }), message: /fleet/ },
    { name: 'bad event outcome', text: () => { const r = full(); (r.events[1] as { outcome: string }).outcome = 'meh'; return JSON.stringify(r); }, message: /events\.1\.outcome/ },
    { name: 'fingerprint that is not a fingerprint', text: () => JSON.stringify({ ...full(), newKey: { keyId: 'k', fingerprint: 'thoth_live_x' } }), message: /newKey\.fingerprint/ },
    { name: 'broken chain', text: () => { const r = full(); r.events[3]!.detail = 'edited'; return serializeRecord(r); }, message: /evidence chain broken at events\[3\]/ },
  ];
  it.each(bad)('rejects $name, naming the file', ({ text, message }) => {
    expect(() => parseRecord(text(), '.thoth/evidence/f/n.json')).toThrow(EvidenceError);
    expect(() => parseRecord(text(), '.thoth/evidence/f/n.json')).toThrow(/\.thoth\/evidence\/f\/n\.json/);
    expect(() => parseRecord(text(), '.thoth/evidence/f/n.json')).toThrow(message);
  });
});
