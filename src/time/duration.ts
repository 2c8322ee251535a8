/**
 * Durations as written in intent files and inputs: `<positive integer><unit>`,
 * unit one of ms, s, m, h, d (`90d`, `30s`, `1500ms`).
 *
 * Deliberately small: no fractions (`1.5h` → write `90m`), no compound forms
 * (`1h30m`), no upper-case units (`M` would read as months), no spaces. A value
 * that does not match is rejected rather than guessed at.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION = /^([1-9][0-9]{0,14})(ms|s|m|h|d)$/;
/** The same rule as a JSON Schema pattern (schema/intent.schema.json). */
export const DURATION_PATTERN = DURATION.source;

/** What a duration looks like, for error messages. */
export const DURATION_FORMAT = 'a positive whole number followed by ms, s, m, h or d, e.g. 30s, 15m, 24h, 90d';

/** Milliseconds, or undefined when `text` is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as Unit];
  // 15 digits × 1 day can leave the range where integers are exact.
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * The largest single unit that represents `ms` exactly (`86400000` → `1d`,
 * `5400000` → `90m`), so the output parses back to the same value.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const whole = Math.round(ms);
  if (whole === 0) return '0ms';
  const sign = whole < 0 ? '-' : '';
  const abs = Math.abs(whole);
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (abs % UNIT_MS[unit] === 0) return `${sign}${abs / UNIT_MS[unit]}${unit}`;
  }
  return `${sign}${abs}ms`;
}
