import type { RotationOutcome } from './rotation/context.js';
import { readableTimes, shareAgainst, stateTrail } from './summary-glance.js';
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

/** Links to one evidence record: as of the run's commit, and the branch's latest. */
export interface EvidenceLinks {
  readonly atCommit?: string | undefined;
  readonly onBranch?: string | undefined;
  readonly branch: string;
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
  /** Configuration problems, one bullet each. */
  problems?: readonly string[];
  evidenceLinks?: (path: string, commit: string | undefined) => EvidenceLinks | undefined;
  /** The intent's `validation.minHealthy`, shown beside the healthy share. */
  minHealthy?: (intentName: string) => number | undefined;
  /** Times in messages are shown relative to this (and in UTC to the minute). */
  now?: Date;
}): string {
  const out: string[] = [];
  const now = p.now ?? new Date();
  const share = (o: RotationOutcome): string => shareAgainst(o.validation?.healthyShare, p.minHealthy?.(o.name));
  out.push(`## ${ICON[p.status] ?? ''} thoth-rotate ${esc(p.mode)}: ${esc(p.status)}`, '');
  if (p.error) out.push(`> **Error:** ${esc(p.error)}`, '');
  if (p.problems?.length) out.push(...p.problems.map((m) => `- ${esc(m)}`), '');
  const failed = p.outcomes.filter((o) => o.status === 'failed' || o.status === 'rolled-back');
  if (failed.length > 0)
    out.push(...failed.map((o) => `- **${esc(o.name)}**: ${esc(readableTimes(o.message, now))}`), '');
  for (const n of p.notes ?? []) out.push(`> ${esc(n)}`, '');
  if (p.outcomes.length > 0) {
    out.push(
      '| | intent | fleet | state | new key | old key | healthy | result |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const o of p.outcomes) {
      out.push(
        `| ${ICON[o.status] ?? ''} | ${esc(o.name)} | ${esc(o.fleet)} | ${esc(o.state)} | ${esc(o.newKeyId ?? '—')} | ${esc(o.oldKeyId ?? '—')} | ${share(o)} | ${esc(readableTimes(o.message, now))} |`,
      );
    }
    out.push('');
    // Where each rotation is on its runbook path.
    for (const o of p.outcomes) out.push(`- ${esc(o.name)}: ${esc(stateTrail(o.state))}`);
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
    for (const o of withEvidence) out.push(`- ${esc(o.name)}: ${evidenceLine(o, p.evidenceLinks)}`);
    out.push('');
  }
  // Values are escaped above; this removes control and invisible characters from the whole text.
  return visibleText(out.join('\n'));
}

/** The record's path, linked as of this run's commit, and its latest version on the evidence branch. */
function evidenceLine(
  o: RotationOutcome,
  links: ((path: string, commit: string | undefined) => EvidenceLinks | undefined) | undefined,
): string {
  const l = links?.(o.evidencePath, o.evidenceCommit);
  const commit = o.evidenceCommit ? `commit ${esc(o.evidenceCommit.slice(0, 12))}` : '';
  if (!l) return `${esc(o.evidencePath)}${commit ? ` (${commit})` : ''}`;
  const pinned = l.atCommit ? `[${esc(o.evidencePath)}](${linkTarget(l.atCommit)})` : esc(o.evidencePath);
  const parts = [
    commit && l.atCommit ? `as of ${commit}` : commit,
    l.onBranch ? `[latest on ${esc(l.branch)}](${linkTarget(l.onBranch)})` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return parts ? `${pinned} (${parts})` : pinned;
}
