import { CronExpressionParser } from 'cron-parser';
import type { RotationWindow } from './types.js';

/**
 * Rotation windows (spec §5 `window`): parsing of their two forms and the pure
 * "is it open now" decision. Everything is UTC; no local time zone is ever used.
 */

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * An ISO-8601 instant with an explicit offset (`2026-12-01T14:00:00Z`,
 * `2026-12-01T15:00+01:00`). Undefined for anything else, including impossible
 * dates (`2026-02-30`) that `Date` would silently roll over, and local times
 * without an offset, whose meaning would depend on the runner's time zone.
 */
export function parseInstant(text: string): Date | undefined {
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = Number(m[6] ?? '0');
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000);
}

/**
 * Why `schedule` is not an acceptable 5-field UTC cron expression, or undefined
 * when it is. cron-parser alone is too lenient for a change-window contract: it
 * also takes 4 or 6 fields, `@daily` macros and Jenkins-style `H` hashes.
 */
export function cronProblem(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `has ${fields.length} field${fields.length === 1 ? '' : 's'}; a schedule has exactly 5 (minute hour day-of-month month day-of-week)`;
  }
  if (fields.some((f) => /(^|,)H/.test(f))) return 'uses a Jenkins-style H hash, which is not standard cron';
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
    return undefined;
  } catch (e) {
    return `is not a valid cron expression: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** A rule broken between the keys of a raw `window` map; `path` is inside the file. */
export interface WindowFinding {
  readonly path: readonly string[];
  readonly at?: 'key';
  readonly problem: string;
  readonly fix: string;
}

/**
 * Rules between the keys of `window` (the raw YAML map, so they are reported
 * even when a value is malformed): one form or the other, each complete, and
 * end after start.
 */
export function windowFindings(w: Record<string, unknown>): WindowFinding[] {
  const fix = 'use either start and end for a one-off window, or schedule and duration for a recurring one';
  const once = ['start', 'end'].filter((k) => k in w);
  const recurring = ['schedule', 'duration'].filter((k) => k in w);
  if (once.length > 0 && recurring.length > 0) {
    return [{ path: ['window', recurring[0]!], at: 'key', problem: `cannot be combined with window.${once[0]!}`, fix }];
  }
  if (once.length === 0 && recurring.length === 0) return [{ path: ['window'], problem: 'is empty', fix }];
  const [a, b] = once.length > 0 ? ['start', 'end'] : ['schedule', 'duration'];
  const out: WindowFinding[] = [];
  for (const [k, other] of [
    [a!, b!],
    [b!, a!],
  ] as const) {
    if (!(k in w))
      out.push({
        path: ['window', k],
        problem: `required together with window.${other}`,
        fix: `add window.${k}, or ${fix}`,
      });
  }
  const start = typeof w['start'] === 'string' ? parseInstant(w['start']) : undefined;
  const end = typeof w['end'] === 'string' ? parseInstant(w['end']) : undefined;
  if (start && end && end.getTime() <= start.getTime()) {
    out.push({
      path: ['window', 'end'],
      problem: `${end.toISOString()} is not after window.start (${start.toISOString()})`,
      fix: 'set window.end later than window.start',
    });
  }
  return out;
}

export interface WindowStatus {
  open: boolean;
  /** Start of the next opening, when the window is closed and will open again. */
  opensAt?: Date;
  /** End of the current opening, when the window is open. */
  closesAt?: Date;
}

/**
 * Whether mutating runs may start at `now`. A one-off window is open on
 * [start, end). A cron window is open when its most recent occurrence at or
 * before `now` is less than `durationMs` ago.
 */
export function windowStatus(window: RotationWindow, now: Date): WindowStatus {
  const t = now.getTime();
  if (window.kind === 'once') {
    if (t < window.start.getTime()) return { open: false, opensAt: window.start };
    if (t < window.end.getTime()) return { open: true, closesAt: window.end };
    return { open: false };
  }
  // cron-parser's prev() is strictly before currentDate: start 1 ms later so an
  // occurrence exactly at `now` counts as the most recent one.
  const back = CronExpressionParser.parse(window.schedule, { tz: 'UTC', currentDate: new Date(t + 1) });
  const last = back.hasPrev() ? back.prev().toDate() : undefined;
  if (last && t < last.getTime() + window.durationMs) {
    return { open: true, closesAt: new Date(last.getTime() + window.durationMs) };
  }
  const ahead = CronExpressionParser.parse(window.schedule, { tz: 'UTC', currentDate: now });
  return ahead.hasNext() ? { open: false, opensAt: ahead.next().toDate() } : { open: false };
}
