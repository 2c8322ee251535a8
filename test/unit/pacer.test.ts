import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WritePacer, type PacerClock } from '../../src/http/pacer.js';

/** A clock whose sleep advances time at once; acquires are serialised, so one sleeper at a time. */
function fakeClock(start = 1_000_000): PacerClock & { t: number; slept: number[] } {
  const c = {
    t: start,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
      await Promise.resolve();
    },
  };
  return c;
}

/** Max writes whose stamps fall in any half-open window [t, t + w). */
function maxInWindow(times: number[], w: number): number {
  const s = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while ((s[i] ?? 0) - (s[j] ?? 0) >= w) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('WritePacer', () => {
  it('admits a full window at once, then only after the oldest settled write leaves the window', async () => {
    const clock = fakeClock();
    const p = new WritePacer({ writes: 200, windowMs: 20_000, marginMs: 0, clock });
    const t0 = clock.t;
    for (let i = 0; i < 10; i++) (await p.acquire(20)).done();
    expect(clock.t).toBe(t0);
    expect(p.used()).toBe(200);
    (await p.acquire(20)).done();
    expect(clock.t).toBe(t0 + 20_000);
  });

  it('1,000 writes in batches of 20 at 200/20s: never more than 200 in a window, done in the lower bound', async () => {
    const clock = fakeClock();
    const p = new WritePacer({ writes: 200, windowMs: 20_000, clock });
    const sent: number[] = [];
    const t0 = clock.t;
    for (let b = 0; b < 50; b++) {
      const ticket = await p.acquire(20);
      for (let i = 0; i < 20; i++) sent.push(clock.t);
      clock.t += 5; // round trip
      ticket.done();
    }
    expect(maxInWindow(sent, 20_000)).toBe(200);
    // 5 windows' worth: the last 200 start after 4 windows (+ margins and round trips).
    const elapsed = (sent.at(-1) ?? 0) - t0;
    expect(elapsed).toBeGreaterThanOrEqual(80_000);
    expect(elapsed).toBeLessThan(80_000 * 1.05);
  });

  it('counts writes in flight: a reservation not yet settled blocks until done()', async () => {
    const clock = fakeClock();
    const p = new WritePacer({ writes: 20, windowMs: 1_000, marginMs: 0, clock });
    const first = await p.acquire(20);
    let second = false;
    const waiting = p.acquire(1).then((t) => {
      second = true;
      return t;
    });
    // One macrotask turn: a pacer that admitted the second write would have resolved by now.
    await new Promise((r) => setImmediate(r));
    expect(second).toBe(false);
    clock.t += 300;
    first.done(); // stamped at +300: room again at +1300
    const t = await waiting;
    expect(second).toBe(true);
    expect(clock.t).toBe(1_000_000 + 1_300);
    t.done();
  });

  it('is FIFO: a large reservation is not overtaken by later small ones', async () => {
    const clock = fakeClock();
    const p = new WritePacer({ writes: 20, windowMs: 1_000, marginMs: 0, clock });
    (await p.acquire(15)).done();
    const order: string[] = [];
    const big = p.acquire(20).then((t) => (order.push('big'), t.done()));
    const small = p.acquire(1).then((t) => (order.push('small'), t.done()));
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  it('holdUntil delays every later write (after a 429)', async () => {
    const clock = fakeClock();
    const p = new WritePacer({ writes: 200, windowMs: 20_000, clock });
    p.holdUntil(clock.t + 7_000);
    const t0 = clock.t;
    (await p.acquire(1)).done();
    expect(clock.t).toBe(t0 + 7_000);
  });

  it('refuses a reservation larger than the budget and bad budgets', async () => {
    const p = new WritePacer({ writes: 5, windowMs: 1_000, clock: fakeClock() });
    await expect(p.acquire(6)).rejects.toThrow(/budget of 5/);
    await expect(p.acquire(0)).rejects.toThrow(RangeError);
    expect(() => new WritePacer({ writes: 0, windowMs: 1_000 })).toThrow(RangeError);
    expect(() => new WritePacer({ writes: 1, windowMs: 0 })).toThrow(RangeError);
  });

  it('default margin: 1% of the window, between 10 and 250 ms', () => {
    expect(new WritePacer({ writes: 1, windowMs: 20_000 }).marginMs).toBe(200);
    expect(new WritePacer({ writes: 1, windowMs: 100 }).marginMs).toBe(10);
    expect(new WritePacer({ writes: 1, windowMs: 3_600_000 }).marginMs).toBe(250);
  });

  it('property: any sequence of reservations and latencies keeps every window within budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 10, max: 5_000 }),
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 200 })),
          { maxLength: 60 },
        ),
        async (writes, windowMs, steps) => {
          const clock = fakeClock();
          const p = new WritePacer({ writes, windowMs, marginMs: 0, clock });
          const stamps: number[] = [];
          for (const [n0, latency, gap] of steps) {
            const n = Math.min(n0, writes);
            const t = await p.acquire(n);
            // The server counts the write somewhere between send and answer: take the send time.
            for (let i = 0; i < n; i++) stamps.push(clock.t);
            clock.t += latency;
            t.done();
            clock.t += gap;
          }
          expect(maxInWindow(stamps, windowMs)).toBeLessThanOrEqual(writes);
        },
      ),
      { numRuns: 150 },
    );
  });
});
