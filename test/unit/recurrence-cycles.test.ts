/**
 * Cycle ids, paths, the latest cycle of a listing, the stop rule and the policy's next step
 * (spec §10), as tables.
 */
import { describe, expect, it } from 'vitest';
import type { EvidenceRecord, RotationState } from '../../src/evidence/record.js';
import {
  cycleDir,
  cycleId,
  cycleIntent,
  cyclePath,
  latestCycle,
  policyStep,
  recordMatchesCycle,
  stoppedBy,
  type PolicyInput,
} from '../../src/recurrence/cycles.js';
import { exampleIntent } from './evidence-sample.js';

const NOW = new Date('2026-12-07T09:05:03.987Z');
const SHA = 'a'.repeat(64);
const record = (state: RotationState, sha256 = SHA): EvidenceRecord =>
  ({
    schema: 'thoth-rotate/evidence/v2',
    name: 'r',
    tenant: 't',
    fleet: { id: 'f', region: 'x' },
    intent: { path: 'p', sha256 },
    state,
    events: [],
  }) as EvidenceRecord;

describe('cycle ids and paths', () => {
  it.each([
    ['2026-12-07T09:05:03.987Z', '20261207T090503Z'],
    ['2027-01-01T00:00:00.000Z', '20270101T000000Z'],
    ['2026-02-28T23:59:59.999Z', '20260228T235959Z'],
  ])('%s → %s', (at, id) => expect(cycleId(new Date(at))).toBe(id));

  it('puts each cycle in <evidence.path>/<fleet.id>/<name>/<cycle>.json and hands the rotation that path', async () => {
    const intent = await exampleIntent();
    expect(cycleDir(intent)).toBe('.thoth/evidence/flt-corpsec-macos/corpsec-macos-2026-12');
    expect(cyclePath(intent, '20261207T090503Z')).toBe(
      '.thoth/evidence/flt-corpsec-macos/corpsec-macos-2026-12/20261207T090503Z.json',
    );
    const c = cycleIntent(intent, '20261207T090503Z');
    expect(c.evidencePath).toBe(cyclePath(intent, '20261207T090503Z'));
    expect({ ...c, evidencePath: intent.evidencePath }).toEqual(intent);
  });
});

const NOW_2027 = new Date('2027-03-01T00:00:00Z');

describe('latestCycle', () => {
  it.each([
    [[], undefined],
    [['20261207T090503Z.json'], '20261207T090503Z'],
    [['20261207T090503Z.json', '20270301T000000Z.json', '20261001T120000Z.json'], '20270301T000000Z'],
    [['README.md', '20261207T090503Z.v1.json', 'latest.json', '2026-12-07.json'], undefined],
    [['20261207T090503Z.json', '20991231T235959Z.json.bak'], '20261207T090503Z'],
  ])('%j → %s', (names, want) => expect(latestCycle(names, NOW_2027).latest).toBe(want));

  // Whoever pushes to the evidence branch names these files: a far-future or impossible id would
  // sort as the latest cycle for ever (silencing the policy or steering it to a planted record).
  it.each([
    [['20261207T090503Z.json', '99991231T235959Z.json'], '20261207T090503Z', ['99991231T235959Z.json']],
    [['20261207T090503Z.json', '20261399T999999Z.json'], '20261207T090503Z', ['20261399T999999Z.json']],
    [['20270301T000100Z.json'], undefined, []],
    [['20270301T000200Z.json'], undefined, ['20270301T000200Z.json']],
  ])('%j: latest %s, refused %j (now 2027-03-01T00:00:30Z, a minute of clock skew allowed)', (names, want, refused) => {
    const got = latestCycle(names, new Date('2027-03-01T00:00:30Z'));
    expect(got.refused).toEqual(refused);
    if (refused.length === 0 && want === undefined) expect(got.latest).toBe('20270301T000100Z');
    else expect(got.latest).toBe(want);
  });
});

describe("recordMatchesCycle: a record copied from another cycle is not this cycle's", () => {
  const at = (first: string) => ({ ...record('completed', SHA), events: [{ at: first }] }) as unknown as EvidenceRecord;
  it.each([
    ['2026-12-07T09:05:03.400Z', true],
    ['2026-12-07T09:05:02.500Z', true],
    ['2026-12-07T09:40:00.000Z', true],
    ['2026-12-01T14:00:00.000Z', false],
    ['2026-12-07T11:05:04.000Z', false],
  ])('claimed at %s → %s', (first, want) => expect(recordMatchesCycle(at(first), '20261207T090503Z')).toBe(want));
  it('an id that names no moment', () =>
    expect(recordMatchesCycle(at('2026-12-07T09:05:03Z'), '20261399T999999Z')).toBe(false));
});

describe('stoppedBy', () => {
  it.each([
    ['failed', SHA, true],
    ['rolled-back', SHA, true],
    ['failed', 'b'.repeat(64), false],
    ['rolled-back', 'b'.repeat(64), false],
    ['completed', SHA, false],
    ['revoked', SHA, false],
    ['refreshed', SHA, false],
  ] as const)('%s cycle, intent %s… → %s', (state, recorded, want) =>
    expect(stoppedBy(record(state, recorded), SHA)).toBe(want),
  );
  it('no cycle yet: not stopped', () => expect(stoppedBy(undefined, SHA)).toBe(false));
});

describe('policyStep', () => {
  const due = { due: true, dueAt: new Date(NOW.getTime() - 1000), dueBecause: 'age' } as const;
  const notDue = { due: false, dueAt: new Date(NOW.getTime() + 1000), dueBecause: 'age' } as const;
  const base: PolicyInput = { intentSha256: SHA, windowOpen: true, now: NOW, due };
  const latest = (state: RotationState, sha = SHA, cycle = '20261001T120000Z') => ({
    cycle,
    record: record(state, sha),
  });
  const opensAt = new Date('2026-12-08T14:00:00Z');
  it.each([
    ['first cycle, due, window open', {}, { kind: 'start', cycle: '20261207T090503Z' }],
    ['first cycle, not due', { due: notDue }, { kind: 'idle' }],
    ['nothing to measure from', { due: { due: false } as const }, { kind: 'idle' }],
    ['due, window closed', { windowOpen: false, opensAt }, { kind: 'wait-window', opensAt }],
    [
      'latest in flight: continued, even when not due',
      { latest: latest('refreshed'), due: notDue },
      { kind: 'continue', cycle: '20261001T120000Z' },
    ],
    [
      'latest in flight, window closed: continued',
      { latest: latest('awaiting-revocation'), windowOpen: false },
      { kind: 'continue', cycle: '20261001T120000Z' },
    ],
    [
      'latest listed but unread: continued',
      { latest: { cycle: '20261001T120000Z', record: undefined } },
      { kind: 'continue', cycle: '20261001T120000Z' },
    ],
    [
      'latest failed, same intent: stopped',
      { latest: latest('failed') },
      { kind: 'stopped', cycle: '20261001T120000Z', state: 'failed' },
    ],
    [
      'latest rolled back, same intent: stopped',
      { latest: latest('rolled-back') },
      { kind: 'stopped', cycle: '20261001T120000Z', state: 'rolled-back' },
    ],
    [
      'latest failed, intent edited: due starts again',
      { latest: latest('failed', 'c'.repeat(64)) },
      { kind: 'start', cycle: '20261207T090503Z' },
    ],
    ['latest completed, due', { latest: latest('completed') }, { kind: 'start', cycle: '20261207T090503Z' }],
    ['latest revoked (emergency), due', { latest: latest('revoked') }, { kind: 'start', cycle: '20261207T090503Z' }],
    ['latest completed, not due', { latest: latest('completed'), due: notDue }, { kind: 'idle' }],
    [
      'latest claimed in this very second: no second cycle with its id',
      { latest: latest('completed', SHA, '20261207T090503Z') },
      { kind: 'idle' },
    ],
  ] as const)('%s', (_, over, want) => expect(policyStep({ ...base, ...over } as PolicyInput)).toEqual(want));
});
