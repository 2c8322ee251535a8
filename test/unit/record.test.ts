import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn() }));

const { registerSecret } = await import('../../src/secrets.js');
const rec = await import('../../src/evidence/record.js');
const {
  appendEvent,
  canonicalJson,
  computeMac,
  EVIDENCE_SCHEMA,
  EvidenceError,
  fingerprint,
  genesisHash,
  parseRecord,
  recordDigest,
  serializeRecord,
  verifyChain,
  withMac,
} = rec;
const { genesis, RUN, STEPS, v1Record, withEvents } = await import('./evidence-sample.js');
type EvidenceRecord = import('../../src/evidence/record.js').EvidenceRecord;
type EventStep = import('../../src/evidence/record.js').EventStep;
type EventBody = Parameters<typeof rec.appendEvent>[1];

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

describe('canonicalJson', () => {
  const cases: { name: string; input: unknown; expected: string }[] = [
    {
      name: 'sorted keys, nested',
      input: { b: 1, a: { d: [1, { z: 0, y: 'x' }], c: null } },
      expected: '{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}',
    },
    { name: 'undefined members dropped', input: { a: undefined, b: true }, expected: '{"b":true}' },
    { name: 'undefined in arrays → null', input: [undefined, 1], expected: '[null,1]' },
    { name: 'strings escaped like JSON', input: { 'k"\n': 'v\u2028' }, expected: '{"k\\"\\n":"v\u2028"}' },
    {
      name: 'dates via toJSON',
      input: { at: new Date(Date.UTC(2026, 0, 1)) },
      expected: '{"at":"2026-01-01T00:00:00.000Z"}',
    },
    { name: 'scalars', input: 'x', expected: '"x"' },
  ];
  it.each(cases)('$name', ({ input, expected }) => expect(canonicalJson(input)).toBe(expected));
  it('is insensitive to key insertion order', () => {
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
  it('refuses values JSON would silently turn into null, and strings that are not Unicode', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ a: 'x\ud800' })).toThrow(/lone surrogate/);
    expect(() => canonicalJson({ '\udc00': 1 })).toThrow(/lone surrogate/);
    expect(canonicalJson('\ud83d\ude02')).toBe('"\ud83d\ude02"');
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
  });

  it('is recomputable from the algorithm in the README and docs/evidence.md alone (sha256 over RFC 8785 JSON)', () => {
    const r = withMac(withEvents(), Buffer.alloc(32, 7));
    const { events, mac, ...fields } = r;
    expect(genesisHash(r)).toBe(
      sha256(
        `{"fleet":"flt-corpsec-macos","name":"corpsec-macos-2026-12","schema":"${EVIDENCE_SCHEMA}","tenant":"acme"}`,
      ),
    );
    let prev = genesisHash(r);
    for (const e of events) {
      const { hash, ...link } = e.chain;
      expect(link.prev).toBe(prev);
      expect(hash).toBe(sha256(canonicalJson({ ...e, chain: link })));
      prev = hash;
    }
    expect(events.at(-1)!.chain.record).toBe(sha256(canonicalJson(fields)));
    expect(mac).toBe(`hmac-sha256:${createHmac('sha256', Buffer.alloc(32, 7)).update(prev).digest('hex')}`);
  });

  it('a record without events is not evidence', () => {
    expect(verifyChain(genesis())).toMatchObject({ ok: false, index: 0, problem: expect.stringMatching(/no events/) });
    expect(() => parseRecord(serializeRecord(genesis()), 'e.json')).toThrow(
      /e\.json: evidence chain broken at events\[0\]: the record has no events/,
    );
  });

  it('refuses an event the next run could not read back', () => {
    const ok: EventBody = { at: '2026-12-01T14:00:00Z', step: 'refresh', outcome: 'ok', detail: '', run: RUN };
    expect(() => appendEvent(genesis(), { ...ok, at: '2026-12-01 14:00' })).toThrow(/at/);
    expect(() => appendEvent(genesis(), { ...ok, at: '2026-12-01T16:00:00+02:00' })).toThrow(/at/);
    expect(() => appendEvent(genesis(), { ...ok, step: '' as EventStep })).toThrow(/step/);
    expect(() => appendEvent(genesis(), { ...ok, step: 'profile-updated' as EventStep })).toThrow(/step/);
    expect(() => appendEvent(genesis(), { ...ok, outcome: 'meh' as 'ok' })).toThrow(/outcome/);
    expect(() => appendEvent(genesis(), { ...ok, run: { ...RUN, attempt: 1.5 } })).toThrow(/run\.attempt/);
  });

  it('does not mutate its input', () => {
    const r = withEvents(2);
    const copy = structuredClone(r);
    appendEvent(r, { at: '2026-12-01T15:00:00Z', step: 'reconcile', outcome: 'info', detail: '', run: RUN });
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
    const r = appendEvent(genesis(), {
      at: '2026-12-01T14:00:00Z',
      step: 'authorize',
      outcome: 'failed',
      detail: 'server said thoth_live_LEAKED_in_detail_123 is bad',
      run: RUN,
    });
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
    {
      name: 'state commitment of an old event edited',
      edit: (r) => (r.events[1]!.chain.record = 'e'.repeat(64)),
      index: 1,
    },
    {
      name: 'field added to an event',
      edit: (r) => ((r.events[1] as unknown as Record<string, unknown>).extra = 1),
      index: 1,
    },
    {
      name: 'hash rewritten to match new content',
      edit: (r) => {
        r.events[2]!.detail = 'x';
        r.events[2]!.chain.hash = 'f'.repeat(64);
      },
      index: 2,
    },
    {
      name: 'two events swapped',
      edit: (r) => {
        const [a, b] = [r.events[1]!, r.events[3]!];
        r.events[1] = b;
        r.events[3] = a;
      },
      index: 1,
    },
    { name: 'adjacent events swapped', edit: (r) => r.events.splice(4, 2, r.events[5]!, r.events[4]!), index: 4 },
    { name: 'first event deleted', edit: (r) => r.events.splice(0, 1), index: 0 },
    { name: 'middle event deleted', edit: (r) => r.events.splice(2, 1), index: 2 },
    { name: 'event duplicated', edit: (r) => r.events.splice(3, 0, structuredClone(r.events[2]!)), index: 3 },
    {
      name: 'event inserted with a fresh but unlinked chain',
      edit: (r) => r.events.splice(1, 0, { ...structuredClone(r.events[0]!), detail: 'forged' }),
      index: 1,
    },
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
    const forged = appendEvent({ ...r, state: 'created', events: r.events.slice(0, 1) }, {
      ...r.events[1]!,
      chain: undefined,
    } as never);
    r.events[1] = forged.events[1]!;
    expect(verifyChain(r)).toMatchObject({ ok: false, index: 2 });
  });
});

describe('the chain commits to the record state after each event', () => {
  const full = (): EvidenceRecord =>
    appendEvent(
      {
        ...withEvents(),
        state: 'awaiting-revocation',
        oldKey: { keyId: 'key_old123', prefix: 'thoth_live_ol' },
        newKey: { keyId: 'key_new456', fingerprint: fingerprint('k') },
        supersededKeys: [{ keyId: 'key_dead789' }],
        revokedKeys: [{ keyId: 'key_gone000' }],
        reason: 'scheduled',
        refreshSentAt: '2026-12-01T14:05:00.000Z',
        validatedAt: '2026-12-01T14:35:00.000Z',
        validation: {
          at: '2026-12-01T14:35:00Z',
          total: 3,
          active: 2,
          healthy: 2,
          onOldKey: 0,
          notCheckedIn: 0,
          inactive: 1,
          healthyShare: 1,
          stragglers: [],
          stragglersOmitted: 0,
        },
        lease: { run: RUN, until: '2026-12-01T15:00:00.000Z' },
        rollbackSeal: {
          alg: 'AES-256-GCM',
          iv: 'AAAAAAAAAAAAAAAA',
          tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
          ciphertext: 'AA==',
          aad: 'x',
        },
      },
      { at: '2026-12-01T14:35:00.000Z', step: 'schedule-revocation', outcome: 'waiting', detail: '', run: RUN },
    );

  it('the full record verifies', () => expect(verifyChain(full())).toEqual({ ok: true }));

  const edits: Record<string, (r: EvidenceRecord) => void> = {
    schema: (r) => (r.schema = 'thoth-rotate/evidence/v1'),
    name: (r) => (r.name = 'other'),
    ticket: (r) => (r.ticket = 'SEC-9'),
    tenant: (r) => (r.tenant = 'evil'),
    fleet: (r) => (r.fleet.region = 'eu-west-1'),
    intent: (r) => (r.intent.path = 'x.yaml'),
    target: (r) => (r.target = { ...r.target!, validation: { ...r.target!.validation, minHealthy: 0.1 } }),
    state: (r) => (r.state = 'validated'),
    oldKey: (r) => (r.oldKey = { keyId: 'key_of_another_fleet' }),
    newKey: (r) => delete r.newKey,
    supersededKeys: (r) => r.supersededKeys!.push({ keyId: 'key_foreign' }),
    revokedKeys: (r) => (r.revokedKeys = []),
    reason: (r) => (r.reason = 'x'),
    refreshSentAt: (r) => (r.refreshSentAt = '2026-12-01T14:06:00.000Z'),
    validatedAt: (r) => (r.validatedAt = '2020-01-01T00:00:00.000Z'),
    validation: (r) => (r.validation!.healthy = 3),
    lease: (r) => (r.lease = { run: RUN, until: '2020-01-01T00:00:00.000Z' }),
    rollbackSeal: (r) => (r.rollbackSeal!.ciphertext = 'AB=='),
    'an added field': (r) => Object.assign(r, { extra: 1 }),
  };
  it.each(Object.entries(edits))('editing %s breaks verification', (_field, edit) => {
    const r = structuredClone(full());
    edit(r);
    const v = verifyChain(r);
    expect(v.ok).toBe(false);
    expect(() => parseRecord(serializeRecord(r), '.thoth/evidence/f/n.json')).toThrow(
      /\.thoth\/evidence\/f\/n\.json: (evidence chain broken|not a thoth-rotate)/,
    );
  });

  it('every top-level field of the record type is covered by the edits above', () => {
    const fields = Object.keys(full()).filter((k) => k !== 'events');
    expect(fields.every((k) => k in edits)).toBe(true);
  });

  it('dropping the newest event no longer matches the state it committed', () => {
    const r = full();
    const v = verifyChain({ ...r, events: r.events.slice(0, -1) });
    expect(v).toMatchObject({
      ok: false,
      index: r.events.length - 2,
      problem: expect.stringMatching(/chain\.record of the newest event/),
    });
  });

  it('each event commits to the fields as they stood with it', () => {
    const r = withEvents(3);
    expect(r.events[0]!.chain.record).toBe(recordDigest({ ...r, state: 'pending' }));
    expect(r.events[2]!.chain.record).toBe(recordDigest(r));
    expect(r.events[0]!.chain.record).not.toBe(r.events[2]!.chain.record);
  });
});

describe('mac (evidence-hmac-key)', () => {
  const key = randomBytes(32);
  const sealed = (): EvidenceRecord => withMac(withEvents(), key);

  it('a sealed record verifies with its key and round-trips', () => {
    const text = serializeRecord(sealed());
    expect(parseRecord(text, 'e.json', { macKey: key })).toEqual(sealed());
    expect(JSON.parse(text).mac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it('the mac is over the chain head and outside the state digest', () => {
    const r = sealed();
    expect(r.mac).toBe(computeMac(r, key));
    expect(verifyChain(r)).toEqual({ ok: true });
  });

  const refused: [string, () => EvidenceRecord, RegExp][] = [
    ['no mac', () => withEvents(), /carries no mac, but evidence-hmac-key is set/],
    ['a mac made with another key', () => withMac(withEvents(), randomBytes(32)), /mac does not match/],
    [
      'a chain re-computed after an edit, without the key',
      () =>
        appendEvent(
          { ...sealed(), state: 'awaiting-revocation', oldKey: { keyId: 'key_foreign' } },
          { at: '2026-12-01T15:00:00Z', step: 'revoke-old-key', outcome: 'ok', detail: '', run: RUN },
        ),
      /mac does not match/,
    ],
    ['a mac that is not one', () => ({ ...sealed(), mac: 'hmac-sha256:xyz' }), /mac: must be hmac-sha256/],
  ];
  it.each(refused)('refuses %s when the key is set, naming the file', (_name, make, message) => {
    expect(() => parseRecord(serializeRecord(make()), '.thoth/evidence/f/n.json', { macKey: key })).toThrow(
      EvidenceError,
    );
    expect(() => parseRecord(serializeRecord(make()), '.thoth/evidence/f/n.json', { macKey: key })).toThrow(
      /^\.thoth\/evidence\/f\/n\.json: /,
    );
    expect(() => parseRecord(serializeRecord(make()), '.thoth/evidence/f/n.json', { macKey: key })).toThrow(message);
  });

  it('without the key, a sealed record is still chain-checked', () => {
    expect(parseRecord(serializeRecord(sealed()), 'e.json').mac).toBe(sealed().mac);
    const edited = { ...sealed(), state: 'completed' as const };
    expect(() => parseRecord(serializeRecord(edited), 'e.json')).toThrow(/chain broken/);
  });
});

describe('v1 records (written before the chain covered the state)', () => {
  it('a finished v1 rotation is still read', () => {
    for (const state of ['completed', 'rolled-back', 'failed', 'revoked'] as const) {
      expect(parseRecord(serializeRecord(v1Record(state)), 'e.json').state).toBe(state);
    }
  });

  it('a v1 record whose events were edited is refused', () => {
    const r = v1Record('completed');
    r.events[1]!.detail = 'edited';
    expect(() => parseRecord(serializeRecord(r), 'e.json')).toThrow(/chain broken at events\[1\]/);
  });

  it('a v1 rotation in flight is refused with what to do', () => {
    expect(() => parseRecord(serializeRecord(v1Record('awaiting-revocation')), '.thoth/evidence/f/n.json')).toThrow(
      /^\.thoth\/evidence\/f\/n\.json: a thoth-rotate\/evidence\/v1 record of a rotation still in flight \(state awaiting-revocation\).*Finish the rotation with the release that started it.*move the record aside/,
    );
  });

  it('nothing is appended to a v1 record', () => {
    expect(() =>
      appendEvent(v1Record('completed'), {
        at: '2026-12-01T15:00:00Z',
        step: 'reconcile',
        outcome: 'ok',
        detail: '',
        run: RUN,
      }),
    ).toThrow(/cannot append to a thoth-rotate\/evidence\/v1 record/);
  });

  it('with evidence-hmac-key, a v1 record (which has no mac) is refused', () => {
    expect(() => parseRecord(serializeRecord(v1Record('completed')), 'e.json', { macKey: randomBytes(32) })).toThrow(
      /carries no mac/,
    );
  });
});

describe('serializeRecord / parseRecord', () => {
  const full = (): EvidenceRecord =>
    appendEvent(
      {
        ...withEvents(),
        state: 'refreshed',
        // Members this version does not know (a newer writer's): read, kept, written back in place.
        ...({ zExtra: { note: 'kept' }, aExtra: 1 } as object),
        newKey: {
          keyId: 'key_new456',
          prefix: 'thoth_live_ab',
          expiresAt: '2027-03-01T00:00:00Z',
          fingerprint: fingerprint('k'),
          mintedBy: { id: RUN.id, attempt: RUN.attempt },
        },
        oldKey: { keyId: 'key_old123' },
        supersededKeys: [{ keyId: 'key_dead789' }],
        refreshSentAt: '2026-12-01T14:05:00.000Z',
        validation: {
          at: '2026-12-01T14:35:00Z',
          total: 3,
          active: 2,
          healthy: 2,
          onOldKey: 0,
          notCheckedIn: 0,
          inactive: 1,
          healthyShare: 1,
          stragglers: [],
          stragglersOmitted: 0,
        },
        lease: { run: RUN, until: '2026-12-01T15:00:00.000Z' },
        rollbackSeal: {
          alg: 'AES-256-GCM',
          iv: 'AAAAAAAAAAAAAAAA',
          tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
          ciphertext: 'AA==',
          aad: 'x',
        },
      },
      { at: '2026-12-01T14:36:00.000Z', step: 'validate', outcome: 'info', detail: '', run: RUN },
    );

  it('writes 2-space JSON with a trailing newline and a fixed top-level order', () => {
    const text = serializeRecord(withMac(full(), Buffer.alloc(32)));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe(`  "schema": "${EVIDENCE_SCHEMA}",`);
    const keys = Object.keys(JSON.parse(text) as object);
    expect(keys).toEqual([
      'schema',
      'name',
      'ticket',
      'tenant',
      'fleet',
      'intent',
      'target',
      'state',
      'oldKey',
      'newKey',
      'supersededKeys',
      'refreshSentAt',
      'validation',
      'lease',
      'rollbackSeal',
      'aExtra',
      'zExtra',
      'mac',
      'events',
    ]);
    expect(Object.keys((JSON.parse(text) as { events: object[] }).events[0]!)).toEqual([
      'at',
      'step',
      'outcome',
      'detail',
      'run',
      'chain',
    ]);
  });

  it('is stable regardless of the in-memory key order', () => {
    const a = full();
    const b = Object.fromEntries(Object.entries(a).reverse()) as EvidenceRecord;
    expect(serializeRecord(b)).toBe(serializeRecord(a));
  });

  it('round-trips through parseRecord, lease and superseded keys typed', () => {
    const r = full();
    const back = parseRecord(serializeRecord(r), 'evidence.json');
    expect(back).toEqual(r);
    expect(back.lease?.run.id).toBe(RUN.id);
    expect(back.supersededKeys?.[0]?.keyId).toBe('key_dead789');
    expect(back.newKey?.mintedBy).toEqual({ id: RUN.id, attempt: RUN.attempt });
    expect(serializeRecord(back)).toBe(serializeRecord(r));
  });

  const bad: { name: string; text: () => string; message: RegExp }[] = [
    { name: 'not JSON', text: () => '{', message: /^\.thoth\/evidence\/f\/n\.json: not valid JSON/ },
    { name: 'wrong schema', text: () => JSON.stringify({ ...full(), schema: 'v0' }), message: /schema/ },
    { name: 'unknown state', text: () => JSON.stringify({ ...full(), state: 'done' }), message: /state/ },
    {
      name: 'an event step this action never writes',
      text: () => JSON.stringify({ ...full(), events: full().events.map((e) => ({ ...e, step: 'profile-updated' })) }),
      message: /events\.0\.step/,
    },
    { name: 'missing fleet', text: () => JSON.stringify({ ...full(), fleet: undefined }), message: /fleet/ },
    { name: 'missing target', text: () => JSON.stringify({ ...full(), target: undefined }), message: /target/ },
    {
      name: 'a lease without a run',
      text: () => JSON.stringify({ ...full(), lease: { until: '2026-12-01T15:00:00Z' } }),
      message: /lease\.run/,
    },
    {
      name: 'a superseded key without an id',
      text: () => JSON.stringify({ ...full(), supersededKeys: [{ prefix: 'x' }] }),
      message: /supersededKeys\.0\.keyId/,
    },
    {
      name: 'an event without its state commitment',
      text: () => {
        const r = full();
        delete (r.events[1]!.chain as { record?: string }).record;
        return JSON.stringify(r);
      },
      message: /events\.1\.chain\.record/,
    },
    {
      name: 'bad event outcome',
      text: () => {
        const r = full();
        (r.events[1] as { outcome: string }).outcome = 'meh';
        return JSON.stringify(r);
      },
      message: /events\.1\.outcome/,
    },
    {
      name: 'fingerprint that is not a fingerprint',
      text: () => JSON.stringify({ ...full(), newKey: { keyId: 'k', fingerprint: 'thoth_live_x' } }),
      message: /newKey\.fingerprint/,
    },
    {
      name: 'broken chain',
      text: () => {
        const r = full();
        r.events[3]!.detail = 'edited';
        return serializeRecord(r);
      },
      message: /evidence chain broken at events\[3\]/,
    },
  ];
  it.each(bad)('rejects $name, naming the file', ({ text, message }) => {
    expect(() => parseRecord(text(), '.thoth/evidence/f/n.json')).toThrow(EvidenceError);
    expect(() => parseRecord(text(), '.thoth/evidence/f/n.json')).toThrow(/\.thoth\/evidence\/f\/n\.json/);
    expect(() => parseRecord(text(), '.thoth/evidence/f/n.json')).toThrow(message);
  });
});
