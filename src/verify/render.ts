import { esc } from '../summary.js';
import { visibleText } from '../untrusted-text.js';
import type { VerifyReport } from './report.js';

const MAX_ROWS = 200;

/**
 * The job summary of a verify run: one row per record an auditor can read (pass or fail and
 * every reason), then the unaccounted keys. Every value from a record or an API goes through
 * `esc` (one line, no HTML, no links, no Markdown structure).
 */
export function renderVerifySummary(report: VerifyReport, reportPath: string): string {
  const out: string[] = [];
  const failed = report.records.filter((r) => !r.ok).length;
  out.push(
    `## ${report.status === 'verified' ? '✅' : '❌'} thoth-rotate verify: ${report.status}`,
    '',
    `${report.records.length} record(s), ${failed} with violations; ${report.unaccountedKeys.length} unaccounted key(s). ` +
      `History read from ${report.source.history === 'git' ? 'the checkout’s git history' : 'the GitHub REST API'} of branch ${esc(report.source.branch)}${report.source.commit ? ` at ${esc(report.source.commit.slice(0, 12))}` : ''}. ` +
      `Report: ${esc(reportPath)}`,
    '',
  );
  if (report.records.length > 0) {
    out.push('| | record | state | findings |', '|---|---|---|---|');
    for (const r of report.records.slice(0, MAX_ROWS)) {
      const findings = [...r.problems, ...r.notes.map((n) => `note: ${n}`)];
      out.push(
        `| ${r.ok ? '✅' : '❌'} | ${esc(r.path)} | ${esc(r.state)} | ${findings.length ? findings.map(esc).join('<br>') : 'verified'} |`,
      );
    }
    if (report.records.length > MAX_ROWS)
      out.push(`| | … and ${report.records.length - MAX_ROWS} more (see the report) | | |`);
    out.push('');
  }
  if (report.unaccountedKeys.length > 0) {
    out.push(
      '### Unaccounted keys',
      '',
      'Active keys scoped to a managed fleet or endpoint that no record names: not violations by themselves; find out who minted them.',
      '',
      '| key | name | scope | created |',
      '|---|---|---|---|',
    );
    for (const k of report.unaccountedKeys.slice(0, MAX_ROWS))
      out.push(
        `| ${esc(k.keyId)} | ${esc(k.name ?? '—')} | ${esc(`${k.scope} ${k.target}`)} | ${esc(k.createdAt ?? '—')} |`,
      );
    out.push('');
  }
  return visibleText(out.join('\n'));
}
