/**
 * Heartbeat lines for long phases (issue 17): a refresh of 50,000 Intune devices takes ~83
 * minutes at Graph's write budget and validation polls for up to `validation.timeout`; a log
 * that is silent that long looks hung. One line every {@link HEARTBEAT_MS} at most.
 */
import { log } from './log.js';

export const HEARTBEAT_MS = 45_000;

export interface ProgressSnapshot {
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** HTTP 429 answers so far in this phase. */
  readonly throttled?: number;
  /** Time the write pacer held requests back so far in this phase. */
  readonly pacerWaitedMs?: number;
}

/** `4 min 10 s`, `52 s`, `1 h 3 min`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${Math.floor(m / 60)} h`;
}

/** `refresh: 12,000 of 50,000 devices (24%) in 4 min, 50/s, about 13 min left; 3 × HTTP 429; pacer waited 2 min`. */
export function progressLine(label: string, unit: string, p: ProgressSnapshot): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const share = p.total > 0 ? ` (${Math.floor((p.done / p.total) * 100)}%)` : '';
  const rate = p.elapsedMs > 0 ? p.done / (p.elapsedMs / 1000) : 0;
  const eta = rate > 0 && p.done < p.total ? `, about ${duration(((p.total - p.done) / rate) * 1000)} left` : '';
  const rateText = rate >= 10 ? `${Math.round(rate)}/s` : `${rate.toFixed(1)}/s`;
  const extra = [
    p.throttled ? `${n(p.throttled)} × HTTP 429` : '',
    p.pacerWaitedMs ? `pacer waited ${duration(p.pacerWaitedMs)}` : '',
  ].filter(Boolean);
  return `${label}: ${n(p.done)} of ${n(p.total)} ${unit}${share} in ${duration(p.elapsedMs)}, ${rateText}${eta}${extra.length ? `; ${extra.join('; ')}` : ''}`;
}

/** Logs a phase's progress at most every `intervalMs`; `tick` is cheap enough to call per batch. */
export class Heartbeat {
  readonly #started: number;
  #last: number;
  constructor(
    private readonly label: string,
    private readonly unit: string,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = HEARTBEAT_MS,
    private readonly sink: (line: string) => void = (l) => log.info(l),
  ) {
    this.#started = now();
    this.#last = this.#started;
  }

  tick(p: Omit<ProgressSnapshot, 'elapsedMs'>): void {
    const t = this.now();
    if (t - this.#last < this.intervalMs) return;
    this.#last = t;
    this.sink(progressLine(this.label, this.unit, { ...p, elapsedMs: t - this.#started }));
  }
}
