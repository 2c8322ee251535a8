import { CYCLE_FILE, recordMatchesCycle } from '../recurrence/cycles.js';
import { macProblem } from '../evidence/chain.js';
import { identityMismatches } from '../evidence/pinning.js';
import { parseRecord, type EvidenceRecord } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import { problem } from './report.js';

export interface RecordCheck {
  /** The record, when it is one (shape right, chain verifying); the other checks need it. */
  readonly record: EvidenceRecord | undefined;
  /** The state it claims, even when it is not a valid record. */
  readonly state: string;
  readonly problems: string[];
  readonly notes: string[];
}

/** What parseRecord adds for `apply`; in a report it only repeats what the problem says. */
const ACTION_ADVICE = /; nothing is done for this intent[\s\S]*$/;

/**
 * The record on its own: schema and hash chain (parseRecord, the same check apply makes),
 * the MAC with `evidence-hmac-key`, timestamps in event order, and fields its state needs.
 * Pure: the text in, the findings out.
 */
export function checkRecord(text: string, path: string, macKey: Buffer | undefined): RecordCheck {
  const problems: string[] = [];
  const notes: string[] = [];
  let record: EvidenceRecord;
  try {
    record = parseRecord(text, path);
  } catch (e) {
    const message = (e as Error).message.replace(`${path}: `, '').replace(ACTION_ADVICE, '');
    const raw = rawState(text);
    if (/still in flight/.test(message)) {
      // A v1 record apply will not continue: still evidence, and its chain still verifies.
      notes.push(message);
      return { record: undefined, state: raw, problems, notes };
    }
    problems.push(problem(/evidence chain broken/.test(message) ? 'chain' : 'schema', message));
    return { record: undefined, state: raw, problems, notes };
  }
  if (macKey) {
    const bad = macProblem(record, macKey);
    if (bad) problems.push(problem('mac', bad));
  } else if (record.mac !== undefined) {
    notes.push('the record carries a mac; it was not checked (no evidence-hmac-key)');
  }
  problems.push(...timestampProblems(record), ...stateProblems(record));
  return { record, state: record.state, problems, notes };
}

function rawState(text: string): string {
  try {
    const s = (JSON.parse(text) as { state?: unknown } | null)?.state;
    return typeof s === 'string' ? s : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Events are appended as they happen: each is at or after the one before. */
export function timestampProblems(record: EvidenceRecord): string[] {
  const out: string[] = [];
  for (let i = 1; i < record.events.length; i++) {
    const a = record.events[i - 1]!;
    const b = record.events[i]!;
    if (Date.parse(b.at) < Date.parse(a.at)) {
      out.push(problem('timestamps', `events[${i}] (${b.step}) at ${b.at} is before events[${i - 1}] at ${a.at}`));
    }
  }
  return out;
}

/** What a state claims that the record must back with fields. */
function stateProblems(record: EvidenceRecord): string[] {
  if (record.state === 'completed' && !record.newKey)
    return [problem('transitions', 'the record is completed but names no new key')];
  if (record.state === 'revoked' && !record.revokedKeys?.length)
    return [problem('transitions', 'the record is revoked but names no revoked key')];
  return [];
}

/**
 * A record belongs where it lies: `<root>/<fleet.id>/<name>.json` (or `<name>.<suffix>.json`
 * when moved aside), a recurring cycle `<root>/<fleet.id>/<name>/<cycle>.json`; and, when a
 * current intent owns that path, it is that intent's (tenant, fleet, name, intent path; spec
 * §9). A record copied from another rotation verifies on its own, so this is what catches it.
 */
export function identityProblems(record: EvidenceRecord, path: string, intent: Intent | undefined): string[] {
  const parts = path.split('/');
  const file = parts.at(-1)!;
  // A cycle record's file names its claim time, and the record was claimed then (recurrence/cycles.ts).
  const cycle = CYCLE_FILE.exec(file)?.[1];
  const asCycle =
    parts.at(-3) === record.fleet.id && parts.at(-2) === record.name && !!cycle && recordMatchesCycle(record, cycle);
  const asRecord =
    parts.at(-2) === record.fleet.id && (file === `${record.name}.json` || file.startsWith(`${record.name}.`));
  const out: string[] = [];
  if (!asRecord && !asCycle)
    out.push(
      problem(
        'identity',
        `the record is of ${record.fleet.id}/${record.name}, which does not live at this path (copied from another rotation?)`,
      ),
    );
  if (intent) for (const m of identityMismatches(record, intent)) out.push(problem('identity', m));
  return out;
}
