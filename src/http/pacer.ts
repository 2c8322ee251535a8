/**
 * Client-side pacing of Microsoft Graph writes (spec action.md §3 `graph-write-budget`,
 * reference mdm.md §11.2): at most `writes` writes in any `windowMs`, so that Intune's
 * per-app budget (200 writes / 20 s on device resources) is never the thing that stops us
 * and a 429 stays the exception.
 *
 * Why a sliding-window log and not a refilling token bucket: Intune counts writes per
 * window, and a bucket that starts full and refills at `writes/window` lets through a full
 * burst at t=0 plus a window's worth of refill before t=window — up to twice the budget in
 * one window, i.e. a wall of 429s. The log admits exactly `writes` per window.
 *
 * Why writes are stamped when their response arrives, not when they are sent: the server
 * counts a write at some instant between our send and its answer. Stamping the answer time
 * (an upper bound) and admitting a new write only `windowMs` after it (the new write reaches
 * the server no earlier than we send it) keeps the server's own window count within budget
 * whatever the latency. A write in flight holds its slot until it is stamped.
 */
import { log } from '../log.js';

/** The pacer's view of time; injected so the logic is testable without real waiting. */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A reservation of write slots; `done()` once the response arrived (or the send failed). */
export interface PacerTicket {
  done(): void;
}

export interface PacerOptions {
  readonly writes: number;
  readonly windowMs: number;
  /** Extra time a slot stays used after its window; default 1 % of the window, 10–250 ms. */
  readonly marginMs?: number;
  readonly clock?: PacerClock;
}

const realClock: PacerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Shared by every Graph write of a run: `acquire(n)` before sending n writes, `done()` after. */
export class WritePacer {
  readonly capacity: number;
  readonly windowMs: number;
  readonly marginMs: number;
  readonly #clock: PacerClock;
  /** Answer times of settled writes, oldest first; `#head` skips the expired ones. */
  #stamps: number[] = [];
  #head = 0;
  #inFlight = 0;
  #holdUntil = 0;
  /** FIFO: each acquire waits for the previous one, so a big batch is not starved by small writes. */
  #turn: Promise<unknown> = Promise.resolve();
  #settleWaiters: (() => void)[] = [];
  /** Total time acquirers spent waiting (ms), for the run's statistics line. */
  waitedMs = 0;

  constructor(o: PacerOptions) {
    if (!Number.isSafeInteger(o.writes) || o.writes < 1)
      throw new RangeError('pacer: writes must be a positive integer');
    if (!(o.windowMs > 0)) throw new RangeError('pacer: windowMs must be positive');
    this.capacity = o.writes;
    this.windowMs = o.windowMs;
    this.marginMs = o.marginMs ?? Math.min(250, Math.max(10, Math.round(o.windowMs / 100)));
    this.#clock = o.clock ?? realClock;
  }

  /** Waits until `n` more writes fit in the window, then reserves them. */
  acquire(n: number): Promise<PacerTicket> {
    if (!Number.isSafeInteger(n) || n < 1 || n > this.capacity) {
      return Promise.reject(new RangeError(`pacer: cannot reserve ${n} writes with a budget of ${this.capacity}`));
    }
    const mine = this.#turn.then(() => this.#wait(n));
    this.#turn = mine.catch(() => undefined);
    return mine.then(() => this.#ticket(n));
  }

  /** After a 429: no new write starts before `at` (throttled requests still count at Graph). */
  holdUntil(at: number): void {
    this.#holdUntil = Math.max(this.#holdUntil, at);
  }

  /** Slots in use now (in flight plus settled within the window). */
  used(): number {
    this.#prune(this.#clock.now());
    return this.#inFlight + this.#stamps.length - this.#head;
  }

  async #wait(n: number): Promise<void> {
    const start = this.#clock.now();
    for (;;) {
      const now = this.#clock.now();
      if (now < this.#holdUntil) {
        await this.#clock.sleep(this.#holdUntil - now);
        continue;
      }
      this.#prune(now);
      const settled = this.#stamps.length - this.#head;
      const excess = this.#inFlight + settled + n - this.capacity;
      if (excess <= 0) {
        this.#inFlight += n;
        this.waitedMs += now - start;
        return;
      }
      if (excess <= settled) {
        // The excess-th oldest stamp leaving the window makes room.
        const at = (this.#stamps[this.#head + excess - 1] ?? now) + this.windowMs + this.marginMs;
        log.debug(
          `pacer: ${n} write(s) wait ${Math.max(1, at - now)} ms: ${settled + this.#inFlight} of ${this.capacity} used in the window`,
        );
        await this.#clock.sleep(Math.max(1, at - now));
      } else {
        // Room depends on writes still in flight: wait until one of them settles.
        log.debug(`pacer: ${n} write(s) wait for one of ${this.#inFlight} in flight to settle`);
        await new Promise<void>((resolve) => this.#settleWaiters.push(resolve));
      }
    }
  }

  #ticket(n: number): PacerTicket {
    let settled = false;
    return {
      done: () => {
        if (settled) return;
        settled = true;
        this.#inFlight -= n;
        const at = this.#clock.now();
        for (let i = 0; i < n; i++) this.#stamps.push(at);
        const waiters = this.#settleWaiters;
        this.#settleWaiters = [];
        for (const w of waiters) w();
      },
    };
  }

  #prune(now: number): void {
    const horizon = now - this.windowMs - this.marginMs;
    while (this.#head < this.#stamps.length && (this.#stamps[this.#head] ?? 0) <= horizon) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#stamps.length) {
      this.#stamps = this.#stamps.slice(this.#head);
      this.#head = 0;
    }
  }
}
