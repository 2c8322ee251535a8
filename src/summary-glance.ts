import { PATH_STATES } from './evidence/schema.js';

/**
 * What a reader of the job summary wants first (issue 17): where each rotation is on its
 * runbook path, the healthy share against its threshold, and times a person can read.
 */

/**
 * `✓ done → ● current → ○ next` for a state on the path. A state off the path (rolled-back,
 * failed, revoked, or a mode's own word such as "planned") is shown on its own: the outcome
 * does not say from which step it left.
 */
export function stateTrail(state: string): string {
  const at = (PATH_STATES as readonly string[]).indexOf(state);
  if (at < 0) return `● ${state}`;
  if (state === 'completed') return PATH_STATES.map((s) => `✓ ${s}`).join(' → ');
  return PATH_STATES.map((s, i) => (i < at ? `✓ ${s}` : i === at ? `● ${s}` : `○ ${s}`)).join(' → ');
}

/** `96.2% (needs 95%)`, with a mark when the share is below its threshold. */
export function shareAgainst(share: number | undefined, minHealthy: number | undefined): string {
  if (share === undefined) return '—';
  const value = `${(share * 100).toFixed(1)}%`;
  if (minHealthy === undefined) return value;
  const below = share + 1e-9 < minHealthy;
  return `${value} ${below ? '<' : '≥'} ${+(minHealthy * 100).toFixed(2)}%`;
}

const ISO = /\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d{1,9})?)?Z\b/g;

/** `in 3 h`, `12 min ago`: the coarsest unit that keeps two significant figures readable. */
export function relative(atMs: number, nowMs: number): string {
  const d = atMs - nowMs;
  const abs = Math.abs(d);
  const [n, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), 's']
      : abs < 3_600_000
        ? [Math.round(abs / 60_000), 'min']
        : abs < 172_800_000
          ? [Math.round(abs / 3_600_000), 'h']
          : [Math.round(abs / 86_400_000), 'd'];
  return d >= 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

/** Every ISO-8601 UTC time in a text as `2026-12-08 14:05 UTC (in 3 h)`. */
export function readableTimes(text: string, now: Date): string {
  return text.replace(ISO, (iso, day: string, hm: string) => {
    const at = Date.parse(iso);
    return Number.isNaN(at) ? iso : `${day} ${hm} UTC (${relative(at, now.getTime())})`;
  });
}
