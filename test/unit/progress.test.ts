import { describe, expect, it } from 'vitest';
import { duration, Heartbeat, progressLine } from '../../src/progress.js';

describe('progress heartbeat', () => {
  it('says done/total, share, rate, ETA, 429s and pacer waits', () => {
    expect(
      progressLine('refresh', 'devices', {
        done: 12_000,
        total: 50_000,
        elapsedMs: 240_000,
        throttled: 3,
        pacerWaitedMs: 120_000,
      }),
    ).toBe(
      'refresh: 12,000 of 50,000 devices (24%) in 4 min, 50/s, about 12 min 40 s left; 3 × HTTP 429; pacer waited 2 min',
    );
  });

  it('no ETA when nothing is done yet or everything is', () => {
    expect(progressLine('refresh', 'devices', { done: 0, total: 10, elapsedMs: 5_000 })).toBe(
      'refresh: 0 of 10 devices (0%) in 5 s, 0.0/s',
    );
    expect(progressLine('refresh', 'devices', { done: 10, total: 10, elapsedMs: 5_000 })).toBe(
      'refresh: 10 of 10 devices (100%) in 5 s, 2.0/s',
    );
  });

  it.each([
    [0, '0 s'],
    [59_400, '59 s'],
    [60_000, '1 min'],
    [61_000, '1 min 1 s'],
    [3_600_000, '1 h'],
    [3_780_000, '1 h 3 min'],
  ])('duration(%i) is %s', (ms, want) => {
    expect(duration(ms)).toBe(want);
  });

  it('logs at most once per interval, measured from the start of the phase', () => {
    let t = 1_000;
    const lines: string[] = [];
    const hb = new Heartbeat(
      'validation',
      'devices healthy',
      () => t,
      30_000,
      (l) => lines.push(l),
    );
    hb.tick({ done: 1, total: 4 });
    t += 29_999;
    hb.tick({ done: 2, total: 4 });
    expect(lines).toEqual([]);
    t += 1;
    hb.tick({ done: 2, total: 4 });
    t += 10_000;
    hb.tick({ done: 3, total: 4 });
    t += 20_000;
    hb.tick({ done: 3, total: 4 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^validation: 2 of 4 devices healthy \(50%\) in 30 s/);
    expect(lines[1]).toMatch(/^validation: 3 of 4 devices healthy \(75%\) in 1 min/);
  });
});
