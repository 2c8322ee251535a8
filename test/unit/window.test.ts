import { describe, expect, it } from 'vitest';
import { cronProblem, parseInstant, windowFindings, windowStatus } from '../../src/intent/window.js';
import type { RotationWindow } from '../../src/intent/types.js';

const at = (iso: string): Date => new Date(iso);

describe('parseInstant', () => {
  it.each([
    ['2026-12-01T14:00:00Z', '2026-12-01T14:00:00.000Z'],
    ['2026-12-01T14:00Z', '2026-12-01T14:00:00.000Z'],
    ['2026-12-01T15:00:00+01:00', '2026-12-01T14:00:00.000Z'],
    ['2026-12-01T09:30:00-04:30', '2026-12-01T14:00:00.000Z'],
    ['2026-12-01T14:00:00.123456Z', '2026-12-01T14:00:00.123Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('%s', (text, iso) => expect(parseInstant(text)?.toISOString()).toBe(iso));

  it.each([
    '2026-12-01T14:00:00',
    '2026-12-01',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01 14:00:00Z',
    'tomorrow',
  ])('rejects %j', (text) => expect(parseInstant(text)).toBeUndefined());
});

describe('cronProblem', () => {
  it.each(['0 14 * * 2', '*/15 * * * *', '0 14 * * MON-FRI', '30 2 1 * *'])('accepts %j', (s) =>
    expect(cronProblem(s)).toBeUndefined(),
  );
  it.each([
    ['0 0 14 * * 2', 'has 6 fields'],
    ['* * * *', 'has 4 fields'],
    ['@daily', 'has 1 field;'],
    ['H 14 * * 2', 'Jenkins-style'],
    ['0 25 * * *', 'not a valid cron expression'],
    ['0 14 31 2 *', 'not a valid cron expression'],
  ])('rejects %j', (s, msg) => expect(cronProblem(s)).toContain(msg));
});

describe('windowStatus', () => {
  const once: RotationWindow = { kind: 'once', start: at('2026-12-01T14:00:00Z'), end: at('2026-12-01T18:00:00Z') };
  const weekly: RotationWindow = { kind: 'cron', schedule: '0 14 * * 2', durationMs: 4 * 3_600_000 }; // Tuesdays 14:00-18:00 UTC

  it.each([
    ['before a one-off window', once, '2026-12-01T13:59:59Z', { open: false, opensAt: at('2026-12-01T14:00:00Z') }],
    ['at its start', once, '2026-12-01T14:00:00Z', { open: true, closesAt: at('2026-12-01T18:00:00Z') }],
    ['inside it', once, '2026-12-01T17:59:59.999Z', { open: true, closesAt: at('2026-12-01T18:00:00Z') }],
    ['at its end (exclusive)', once, '2026-12-01T18:00:00Z', { open: false }],
    ['after it', once, '2027-01-01T00:00:00Z', { open: false }],
    [
      'exactly on a cron occurrence',
      weekly,
      '2026-12-01T14:00:00Z',
      { open: true, closesAt: at('2026-12-01T18:00:00Z') },
    ],
    ['inside a cron opening', weekly, '2026-12-01T16:30:00Z', { open: true, closesAt: at('2026-12-01T18:00:00Z') }],
    ['just after a cron opening', weekly, '2026-12-01T18:00:00Z', { open: false, opensAt: at('2026-12-08T14:00:00Z') }],
    [
      'a minute before a cron occurrence',
      weekly,
      '2026-12-01T13:59:00Z',
      { open: false, opensAt: at('2026-12-01T14:00:00Z') },
    ],
    ['days away from one', weekly, '2026-12-04T09:00:00Z', { open: false, opensAt: at('2026-12-08T14:00:00Z') }],
  ])('%s', (_name, window, now, expected) => expect(windowStatus(window, at(now))).toEqual(expected));

  it('uses UTC whatever the process time zone says', () => {
    const before = process.env['TZ'];
    process.env['TZ'] = 'Pacific/Kiritimati';
    try {
      expect(windowStatus(weekly, at('2026-12-01T14:30:00Z')).open).toBe(true);
    } finally {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    }
  });

  it('a cron window longer than its period is open from the latest occurrence', () => {
    const daily: RotationWindow = { kind: 'cron', schedule: '0 0 * * *', durationMs: 36 * 3_600_000 };
    expect(windowStatus(daily, at('2026-12-02T06:00:00Z'))).toEqual({
      open: true,
      closesAt: at('2026-12-03T12:00:00Z'),
    });
  });
});

describe('windowFindings', () => {
  it.each([
    [{}, 'window: is empty'],
    [{ start: 'x', schedule: 'y' }, 'window.schedule: cannot be combined with window.start'],
    [{ start: '2026-12-01T14:00:00Z' }, 'window.end: required together with window.start'],
    [{ duration: '4h' }, 'window.schedule: required together with window.duration'],
    [
      { start: '2026-12-01T14:00:00Z', end: '2026-12-01T14:00:00Z' },
      'window.end: 2026-12-01T14:00:00.000Z is not after window.start',
    ],
  ])('%j', (raw, expected) => {
    const got = windowFindings(raw).map((f) => `${f.path.join('.')}: ${f.problem}`);
    expect(got).toContainEqual(expect.stringContaining(expected));
  });
  it('has nothing to say about a complete window', () => {
    expect(windowFindings({ schedule: '0 14 * * 2', duration: '4h' })).toEqual([]);
    expect(windowFindings({ start: '2026-12-01T14:00:00Z', end: '2026-12-01T18:00:00Z' })).toEqual([]);
  });
});
