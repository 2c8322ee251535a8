import { describe, expect, it, vi } from 'vitest';
import { refreshGroup } from '../../src/runbook/refresh.js';
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

describe('refresh heartbeat', () => {
  it('a long Intune-style refresh logs its writes every 45 s and stops when the refresh ends', async () => {
    vi.useFakeTimers();
    try {
      let writes = 10; // counters are monotonic over the run: only their growth during the refresh counts
      const lines: string[] = [];
      let finish: (v: string[]) => void = () => {};
      const mdm = {
        members: async () => [],
        refresh: () => new Promise<string[]>((r) => (finish = r)),
        progress: () => ({ writes, throttled: writes > 1_000 ? 2 : 0 }),
      };
      const devices = Array.from({ length: 2_000 }, (_, i) => ({ mdmId: `${i}`, refreshId: `${i}`, name: `d${i}` }));
      const done = refreshGroup({ mdm, now: () => new Date(), log: { info: (l) => lines.push(l) } }, devices as never);
      writes += 500;
      await vi.advanceTimersByTimeAsync(45_000);
      writes += 900;
      await vi.advanceTimersByTimeAsync(45_000);
      finish([]);
      await done;
      await vi.advanceTimersByTimeAsync(180_000);
      expect(lines).toEqual([
        'refresh: 500 of 2,000 device writes (25%) in 45 s, 11/s, about 2 min 15 s left',
        'refresh: 1,400 of 2,000 device writes (70%) in 1 min 30 s, 16/s, about 39 s left; 2 × HTTP 429',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a provider without progress (Jamf: a few blank pushes) logs nothing', async () => {
    const lines: string[] = [];
    const mdm = { members: async () => [], refresh: async () => [] };
    await refreshGroup({ mdm, now: () => new Date(), log: { info: (l) => lines.push(l) } }, []);
    expect(lines).toEqual([]);
  });
});
