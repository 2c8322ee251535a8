/**
 * `dueCycle` as a table (spec §10): due by age (`created_at + every`), by expiry
 * (`expires_at − before`), the earlier of the two, exactly at the due moment, and keys that give
 * nothing to measure from.
 */
import { describe, expect, it } from 'vitest';
import { dueCycle, keyTime, type DueInput } from '../../src/recurrence/due.js';

const DAY = 86_400_000;
const NOW = new Date('2026-12-07T09:00:00.000Z');
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const ahead = (days: number) => new Date(NOW.getTime() + days * DAY);

describe('dueCycle', () => {
  const rows: ReadonlyArray<[string, Omit<DueInput, 'now'>, { due: boolean; dueAt?: Date; dueBecause?: string }]> = [
    [
      'age: older than every',
      { everyMs: 90 * DAY, createdAt: ago(100) },
      { due: true, dueAt: ago(10), dueBecause: 'age' },
    ],
    [
      'age: younger than every',
      { everyMs: 90 * DAY, createdAt: ago(80) },
      { due: false, dueAt: ahead(10), dueBecause: 'age' },
    ],
    [
      'age: exactly at dueAt is due',
      { everyMs: 90 * DAY, createdAt: ago(90) },
      { due: true, dueAt: NOW, dueBecause: 'age' },
    ],
    [
      'age: 1 ms before dueAt is not due',
      { everyMs: 90 * DAY + 1, createdAt: ago(90) },
      { due: false, dueAt: new Date(NOW.getTime() + 1), dueBecause: 'age' },
    ],
    [
      'expiry: within before',
      { beforeMs: 14 * DAY, expiresAt: ahead(10) },
      { due: true, dueAt: ago(4), dueBecause: 'expiry' },
    ],
    [
      'expiry: not yet within before',
      { beforeMs: 14 * DAY, expiresAt: ahead(20) },
      { due: false, dueAt: ahead(6), dueBecause: 'expiry' },
    ],
    [
      'expiry: exactly at dueAt is due',
      { beforeMs: 14 * DAY, expiresAt: ahead(14) },
      { due: true, dueAt: NOW, dueBecause: 'expiry' },
    ],
    [
      'expiry: already expired',
      { beforeMs: DAY, expiresAt: ago(3) },
      { due: true, dueAt: ago(4), dueBecause: 'expiry' },
    ],
    [
      'both due, expiry earlier wins',
      { everyMs: 90 * DAY, beforeMs: 14 * DAY, createdAt: ago(95), expiresAt: ahead(1) },
      { due: true, dueAt: ago(13), dueBecause: 'expiry' },
    ],
    [
      'both due, age earlier wins',
      { everyMs: 30 * DAY, beforeMs: 14 * DAY, createdAt: ago(95), expiresAt: ahead(1) },
      { due: true, dueAt: ago(65), dueBecause: 'age' },
    ],
    [
      'neither due: the earlier future moment is named',
      { everyMs: 90 * DAY, beforeMs: 14 * DAY, createdAt: ago(10), expiresAt: ahead(30) },
      { due: false, dueAt: ahead(16), dueBecause: 'expiry' },
    ],
    [
      'a tie names expiry',
      { everyMs: 90 * DAY, beforeMs: 10 * DAY, createdAt: ago(80), expiresAt: ahead(20) },
      { due: false, dueAt: ahead(10), dueBecause: 'expiry' },
    ],
    [
      'before on a key that never expires: age only',
      { everyMs: 90 * DAY, beforeMs: 14 * DAY, createdAt: ago(1) },
      { due: false, dueAt: ahead(89), dueBecause: 'age' },
    ],
    ['every without created_at: nothing to measure', { everyMs: 90 * DAY }, { due: false }],
    [
      'before on a key that never expires only: nothing to measure',
      { beforeMs: 14 * DAY, createdAt: ago(500) },
      { due: false },
    ],
  ];
  it.each(rows)('%s', (_, input, want) => {
    const got = dueCycle({ ...input, now: NOW });
    expect({ due: got.due, dueAt: got.dueAt, dueBecause: got.dueBecause }).toEqual({
      due: want.due,
      dueAt: want.dueAt,
      dueBecause: want.dueBecause,
    });
  });
});

describe('keyTime', () => {
  it.each([
    ['2026-12-07T09:00:00Z', NOW],
    ['2026-12-07T10:00:00+01:00', NOW],
    [null, undefined],
    [undefined, undefined],
    ['', undefined],
    ['not a time', undefined],
  ])('%j', (text, want) => expect(keyTime(text)).toEqual(want));
});
