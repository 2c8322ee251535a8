import type { RotationOutcome } from './rotation/context.js';
import { markdownText, oneLine, visibleText } from './untrusted-text.js';

/**
 * Every value that came from an API or a file (core.summary inserts raw Markdown): one line,
 * HTML-escaped, and unable to form a link, an image, HTML or any Markdown structure.
 */
export const esc = markdownText;

/** A link destination the action built itself: percent-encoded, so no character of a path can end it. */
const linkTarget = (url: string): string =>
  encodeURI(oneLine(url)).replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'));

const ICON: Record<string, string> = {
  completed: '✅',
  'in-progress': '⏳',
  unchanged: '➖',
  waiting: '🕒',
  busy: '🔒',
  planned: '📝',
  'rolled-back': '↩️',
  failed: '❌',
  revoked: '⛔',
};

function pct(share: number | undefined): string {
  return share === undefined ? '—' : `${(share * 100).toFixed(1)}%`;
}

/**
 * The job summary of spec §8: status first, one line per intent; then validation
 * counts, stragglers (first 50, rest counted), drift warnings, evidence links.
 */
export function renderSummary(p: {
  title: string;
  mode: string;
  status: string;
  outcomes: readonly RotationOutcome[];
  notes?: readonly string[];
  error?: string | undefined;
  evidenceUrl?: (path: string) => string | undefined;
}): string {
  const out: string[] = [];
  out.push(`## ${ICON[p.status] ?? ''} thoth-rotate ${esc(p.mode)}: ${esc(p.status)}`, '');
  if (p.error) out.push(`> **Error:** ${esc(p.error)}`, '');
  for (const n of p.notes ?? []) out.push(`> ${esc(n)}`, '');
  if (p.outcomes.length > 0) {
    out.push(
      '| | intent | fleet | state | new key | old key | healthy | result |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const o of p.outcomes) {
      out.push(
        `| ${ICON[o.status] ?? ''} | ${esc(o.name)} | ${esc(o.fleet)} | ${esc(o.state)} | ${esc(o.newKeyId ?? '—')} | ${esc(o.oldKeyId ?? '—')} | ${pct(o.validation?.healthyShare)} | ${esc(o.message)} |`,
      );
    }
    out.push('');
  }
  // Spec §10: per recurring intent, when its next cycle is (or became) due and why.
  const recurring = p.outcomes.filter((o) => o.dueAt);
  if (recurring.length > 0) {
    out.push('### Recurring policies', '', '| intent | next cycle due | because |', '|---|---|---|');
    for (const o of recurring) out.push(`| ${esc(o.name)} | ${esc(o.dueAt!)} | ${esc(o.dueBecause ?? '—')} |`);
    out.push('');
  }
  const validated = p.outcomes.filter((o) => o.validation);
  if (validated.length > 0) {
    out.push(
      '### Validation',
      '',
      '| intent | total | active | healthy | on old key | not checked in | inactive | verdict |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const o of validated) {
      const v = o.validation!;
      out.push(
        `| ${esc(o.name)} | ${v.total} | ${v.active} | ${v.healthy} | ${v.onOldKey} | ${v.notCheckedIn} | ${v.inactive} | ${v.pass ? 'pass' : esc(v.reason)} |`,
      );
    }
    out.push('');
    for (const o of validated) {
      const v = o.validation!;
      if (v.stragglers.length === 0) continue;
      out.push(
        `<details><summary>Stragglers of ${esc(o.name)}: ${v.stragglers.length + v.stragglersOmitted}</summary>`,
        '',
        '| endpoint | reason |',
        '|---|---|',
      );
      for (const s of v.stragglers) out.push(`| ${esc(s.name)} (${esc(s.id)}) | ${esc(s.reason)} |`);
      if (v.stragglersOmitted > 0) out.push(`| … | and ${v.stragglersOmitted} more |`);
      out.push('', '</details>', '');
    }
  }
  const warnings = p.outcomes.flatMap((o) => o.warnings.map((w) => `${o.name}: ${w}`));
  if (warnings.length > 0) {
    out.push('### Warnings', '');
    for (const w of warnings.slice(0, 50)) out.push(`- ${esc(w)}`);
    if (warnings.length > 50) out.push(`- … and ${warnings.length - 50} more`);
    out.push('');
  }
  const withEvidence = p.outcomes.filter((o) => o.evidenceCommit || p.mode !== 'plan');
  if (withEvidence.length > 0) {
    out.push('### Evidence', '');
    for (const o of withEvidence) {
      const url = p.evidenceUrl?.(o.evidencePath);
      out.push(
        `- ${esc(o.name)}: ${url ? `[${esc(o.evidencePath)}](${linkTarget(url)})` : esc(o.evidencePath)}${o.evidenceCommit ? ` (commit ${esc(o.evidenceCommit.slice(0, 12))})` : ''}`,
      );
    }
    out.push('');
  }
  // Values are escaped above; this removes control and invisible characters from the whole text.
  return visibleText(out.join('\n'));
}
