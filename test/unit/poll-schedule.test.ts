import { describe, expect, it } from 'vitest';
import { waitBeforeNextPoll } from '../../src/runbook/validate.js';

describe('waitBeforeNextPoll', () => {
  it('starts polls every interval: a quick poll waits out the rest of it', () => {
    expect(waitBeforeNextPoll(1_200, 1_000, 1_000, 10_000)).toBe(800);
  });
  it('a poll that took longer than the interval is followed at once, never overlapped', () => {
    expect(waitBeforeNextPoll(2_500, 1_000, 1_000, 10_000)).toBe(0);
  });
  it('no next poll when it would start after the deadline', () => {
    expect(waitBeforeNextPoll(9_500, 9_000, 1_000, 9_999)).toBeUndefined();
    expect(waitBeforeNextPoll(9_500, 9_000, 1_000, 10_000)).toBe(500);
  });
});
