/**
 * Signals that recur on their own schedule, computed when read instead of driven by timers:
 * 100,000 proxies heartbeating every second cost nothing until someone lists them. Each
 * endpoint has a seeded phase; its beats fall at phase + k·period while it is up. Events
 * (a check-in the MDM asked for, a recon a policy ran) add beats at their own time.
 */
import type { Rng } from './util.js';

export class Beats {
  /** One beat time per endpoint; the others fall a whole number of periods away. */
  private readonly phase: Float64Array;
  /** The latest beat that was not periodic: an event, or the last beat before the device went down. */
  private readonly extra: Float64Array;

  /**
   * @param periodMs Infinity: events only.
   * @param initial  the latest beat before `now` of a device that is down from the start.
   */
  constructor(
    n: number,
    readonly periodMs: number,
    rng: Rng,
    now: number,
    initial: (i: number) => number,
  ) {
    this.phase = new Float64Array(n);
    this.extra = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.phase[i] = Number.isFinite(periodMs) ? now - rng.next() * periodMs : 0;
      this.extra[i] = initial(i);
    }
  }

  /** The latest beat at or before `t`; periodic beats count only from `upSince` (Infinity: down). */
  last(i: number, t: number, upSince: number): number {
    const e = this.extra[i] ?? -Infinity;
    if (!Number.isFinite(this.periodMs) || upSince > t) return e;
    const p = this.phase[i] ?? 0;
    const b = p + Math.floor((t - p) / this.periodMs) * this.periodMs;
    return b >= upSince && b > e ? b : e;
  }

  /** The first periodic beat after `t` (Infinity without a period). */
  next(i: number, t: number): number {
    if (!Number.isFinite(this.periodMs)) return Infinity;
    const p = this.phase[i] ?? 0;
    return p + (Math.floor((t - p) / this.periodMs) + 1) * this.periodMs;
  }

  /** A beat at `at` that no schedule made (an event), or the freeze of a device going down. */
  event(i: number, at: number): void {
    if (at > (this.extra[i] ?? -Infinity)) this.extra[i] = at;
  }
}

/**
 * What a recurring report carries (the proxy's key and the revoked list of the installed
 * profile), as of the report's time. The state changes only at events; a report at time b
 * sees the state after the last change at or before b. Only the state the latest report
 * before the last change saw is kept (`prev`): that is all a read at any later time can see.
 */
export class Sampled {
  private readonly prevKey: Int32Array;
  private readonly prevRev: Int32Array;

  constructor(n: number, initialKey: (i: number) => number) {
    this.prevKey = new Int32Array(n);
    this.prevRev = new Int32Array(n);
    for (let i = 0; i < n; i++) this.prevKey[i] = initialKey(i);
  }

  /**
   * Called before the state changes at `at`: when a report fell between the previous change
   * and now, it saw the current state, which becomes the one reads before `at` resolve to.
   */
  beforeChange(i: number, lastReportBefore: number, changedAt: number, key: number, rev: number): void {
    if (lastReportBefore >= changedAt) {
      this.prevKey[i] = key;
      this.prevRev[i] = rev;
    }
  }

  /** The key a report at `reportAt` saw (`key`: the current one, in effect since `changedAt`). */
  keyAt(i: number, reportAt: number, changedAt: number, key: number): number {
    return reportAt >= changedAt ? key : (this.prevKey[i] ?? -1);
  }
  /** The revoked list (interned) a report at `reportAt` saw. */
  revAt(i: number, reportAt: number, changedAt: number, rev: number): number {
    return reportAt >= changedAt ? rev : (this.prevRev[i] ?? 0);
  }
}
