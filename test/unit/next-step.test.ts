/**
 * `nextStep` and the lease rule (`heldByOther`, `leaseUntil`) as tables: every state, the
 * revocation due time to the millisecond, a re-run of the same workflow run, an expired lease.
 * These decide when the old key may be revoked and which run may act, so each edge is pinned.
 */
import { describe, expect, it } from 'vitest';
import {
  ROTATION_STATES,
  type EvidenceRecord,
  type Lease,
  type RotationState,
  type RunInfo,
} from '../../src/evidence/record.js';
import { leaseUntil } from '../../src/runbook/record.js';
import { heldByOther, nextStep, type Step, type StepInput } from '../../src/rotation/next-step.js';
import type { Intent } from '../../src/intent/types.js';

const WINDOW = 86_400_000;
const VALIDATED = new Date('2026-12-01T14:00:00.000Z');
const DUE = new Date(VALIDATED.getTime() + WINDOW);
const ME: RunInfo = { id: '100', attempt: 1, actor: 'octocat', sha: 'a'.repeat(40) };
const RERUN: RunInfo = { ...ME, attempt: 2 };
const OTHER: RunInfo = { ...ME, id: '200' };

const record = (state: RotationState, extra: Partial<EvidenceRecord> = {}): EvidenceRecord =>
  ({
    schema: 'thoth-rotate/evidence/v2',
    name: 'r',
    tenant: 't',
    fleet: { id: 'f', region: 'x' },
    intent: { path: 'p', sha256: 's' },
    state,
    events: [],
    validatedAt: VALIDATED.toISOString(),
    ...extra,
  }) as EvidenceRecord;
const input = (p: Partial<StepInput>): StepInput => ({
  record: undefined,
  run: ME,
  now: VALIDATED,
  windowOpen: true,
  validationWindowMs: WINDOW,
  ...p,
});
const at = (ms: number): Date => new Date(ms);

describe('nextStep: every state, no lease', () => {
  const expected: Record<RotationState, Step['kind']> = {
    pending: 'recover-undeployed',
    created: 'recover-undeployed',
    authorized: 'recover-undeployed',
    deployed: 'refresh',
    refreshed: 'validate',
    validated: 'wait-revocation',
    'awaiting-revocation': 'wait-revocation',
    completed: 'done',
    'rolled-back': 'done',
    failed: 'done',
    revoked: 'done',
  };
  it('the table names every state', () => expect(Object.keys(expected).sort()).toEqual([...ROTATION_STATES].sort()));
  it.each(ROTATION_STATES.map((s) => [s, expected[s]] as const))('%s → %s', (state, kind) => {
    expect(nextStep(input({ record: record(state), now: at(DUE.getTime() - 1) })).kind).toBe(kind);
  });
});

describe('nextStep: no record', () => {
  it('window open → begin', () => expect(nextStep(input({ windowOpen: true }))).toEqual({ kind: 'begin' }));
  it('window closed → wait-window with the opening time', () => {
    const opensAt = new Date('2026-12-02T00:00:00Z');
    expect(nextStep(input({ windowOpen: false, opensAt }))).toEqual({ kind: 'wait-window', opensAt });
  });
  it('window closed, no opening known → wait-window without one', () =>
    expect(nextStep(input({ windowOpen: false }))).toEqual({ kind: 'wait-window' }));
});

describe('nextStep: the old key is due exactly validatedAt + window', () => {
  const cases: [string, number, Step][] = [
    ['just validated', VALIDATED.getTime(), { kind: 'wait-revocation', dueAt: DUE }],
    ['half the window', VALIDATED.getTime() + WINDOW / 2, { kind: 'wait-revocation', dueAt: DUE }],
    ['due − 1 ms', DUE.getTime() - 1, { kind: 'wait-revocation', dueAt: DUE }],
    ['at due', DUE.getTime(), { kind: 'revoke-old' }],
    ['due + 1 ms', DUE.getTime() + 1, { kind: 'revoke-old' }],
  ];
  for (const state of ['validated', 'awaiting-revocation'] as const) {
    it.each(cases)(`${state}, %s`, (_name, now, step) => {
      expect(nextStep(input({ record: record(state), now: at(now) }))).toEqual(step);
    });
  }
  it('a record without validatedAt is never due (the window starts now)', () => {
    const { validatedAt: _dropped, ...r } = record('awaiting-revocation');
    expect(nextStep(input({ record: r as EvidenceRecord, now: at(DUE.getTime() + WINDOW) }))).toEqual({
      kind: 'wait-revocation',
      dueAt: at(DUE.getTime() + 2 * WINDOW),
    });
  });
  it('a zero window is due at once', () => {
    expect(nextStep(input({ record: record('validated'), now: VALIDATED, validationWindowMs: 0 }))).toEqual({
      kind: 'revoke-old',
    });
  });
});

describe('nextStep: leases', () => {
  const lease = (run: RunInfo, untilMs: number): Lease => ({ run, until: at(untilMs).toISOString() });
  const T = VALIDATED.getTime();
  const cases: [string, RunInfo, number, number, Step['kind']][] = [
    // [name, lease holder, lease until, now, expected step for a `deployed` record]
    ['another run, lease live', OTHER, T + 60_000, T, 'busy'],
    ['another run, lease ends in 1 ms', OTHER, T + 1, T, 'busy'],
    ['another run, lease ends now (expired)', OTHER, T, T, 'refresh'],
    ['another run, lease expired long ago', OTHER, T - 60_000, T, 'refresh'],
    ['this run (same attempt), lease live', ME, T + 60_000, T, 'refresh'],
    ['a re-run of this workflow run (next attempt), lease live', RERUN, T + 60_000, T, 'refresh'],
  ];
  it.each(cases)('%s', (_name, holder, until, now, kind) => {
    // The record's lease holder is `holder`; the asking run is ME (or its re-run, same id).
    const step = nextStep(input({ record: record('deployed', { lease: lease(holder, until) }), now: at(now) }));
    expect(step.kind).toBe(kind);
    if (kind === 'busy') expect(step).toEqual({ kind: 'busy', owner: holder, until: at(until) });
  });
  it('a re-run asking while the first attempt holds the lease takes over', () => {
    expect(
      nextStep(input({ record: record('refreshed', { lease: lease(ME, T + 60_000) }), run: RERUN, now: at(T) })).kind,
    ).toBe('validate');
  });
  it('a live lease of another run is busy in every non-terminal state, even when revocation is due', () => {
    for (const state of ROTATION_STATES.filter((s) => !['completed', 'rolled-back', 'failed', 'revoked'].includes(s))) {
      expect(
        nextStep(input({ record: record(state, { lease: lease(OTHER, DUE.getTime() + 1) }), now: DUE })).kind,
        state,
      ).toBe('busy');
    }
  });
  it('a terminal record is done whatever the lease says', () => {
    for (const state of ['completed', 'rolled-back', 'failed', 'revoked'] as const) {
      expect(
        nextStep(input({ record: record(state, { lease: lease(OTHER, T + 60_000) }), now: at(T) })).kind,
        state,
      ).toBe('done');
    }
  });
});

describe('heldByOther', () => {
  const T = VALIDATED.getTime();
  it.each([
    ['no lease', undefined, ME, false],
    ['another run, live', { run: OTHER, until: at(T + 1).toISOString() }, ME, true],
    ['another run, until == now', { run: OTHER, until: at(T).toISOString() }, ME, false],
    ['same run id, live', { run: ME, until: at(T + 60_000).toISOString() }, RERUN, false],
  ] as const)('%s → %s', (_n, lease, run, held) => expect(heldByOther(lease, run, at(T))).toBe(held));
});

describe('leaseUntil', () => {
  it('covers the validation timeout plus 15 minutes', () => {
    const intent = { validation: { timeoutMs: 3_600_000 } } as Intent;
    expect(leaseUntil(intent, VALIDATED)).toBe(new Date(VALIDATED.getTime() + 3_600_000 + 15 * 60_000).toISOString());
  });
});
