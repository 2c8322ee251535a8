import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/time/duration.js';

describe('parseDuration', () => {
  it.each([
    ['1500ms', 1500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['90d', 7_776_000_000],
  ])('%s → %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each([
    '',
    '0s',
    '0',
    '-5m',
    '1.5h',
    '90',
    'd',
    '90D',
    '1h30m',
    ' 30s',
    '30 s',
    '30sec',
    '1e3s',
    '007s',
    '999999999999999d',
  ])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1500, '1500ms'],
    [30_000, '30s'],
    [90_000, '90s'],
    [5_400_000, '90m'],
    [86_400_000, '1d'],
    [7_776_000_000, '90d'],
    [-60_000, '-1m'],
  ])('%s → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 86_400_000 * 3])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
