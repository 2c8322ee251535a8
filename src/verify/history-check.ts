import type { EvidenceRecord, RotationState } from '../evidence/record.js';
import { problem } from './report.js';

/** One committed version of a record's file, oldest first; `text` undefined where the commit deleted it. */
export interface Version {
  readonly commit: string;
  readonly text: string | undefined;
}

/** A version as read: the record when it verifies on its own, else why not. */
export interface ReadVersion {
  readonly commit: string;
  readonly deleted: boolean;
  readonly record?: EvidenceRecord;
  readonly invalid?: string;
}

export interface HistoryCheck {
  readonly problems: string[];
  readonly notes: string[];
  /** The state each valid version claimed, oldest first, since the record was last (re)created. */
  readonly states: { state: RotationState; commit: string }[];
}

const short = (sha: string): string => sha.slice(0, 12);

/**
 * Append-only history (spec action.md §11.2): every committed version of the file extends the
 * valid version before it, i.e. holds its events unchanged, in order, and maybe more. The
 * newest event's hash commits to every earlier event and to the fields, so equal hashes mean
 * equal events. This is what catches what the chain alone cannot: a file put back to an
 * earlier state (events dropped), or a history rewritten so that an old version no longer
 * matches the ones after it.
 *
 * A version that did not verify is a note, not a violation, when a later version extends the
 * last valid one (the documented repair: restore the file from history). A deletion starts a
 * new lineage (the documented "move the record aside"): noted, not compared across.
 */
export function checkHistory(versions: readonly ReadVersion[]): HistoryCheck {
  const problems: string[] = [];
  const notes: string[] = [];
  let states: { state: RotationState; commit: string }[] = [];
  let last: { record: EvidenceRecord; commit: string } | undefined;
  for (const v of versions) {
    if (v.deleted) {
      if (last) notes.push(`history: the file was deleted at commit ${short(v.commit)}; what follows is a new record`);
      last = undefined;
      states = [];
      continue;
    }
    if (!v.record) {
      notes.push(`history: the version committed at ${short(v.commit)} did not verify (${v.invalid ?? 'unreadable'})`);
      continue;
    }
    if (last) {
      const gap = extensionProblem(last.record, v.record);
      if (gap) {
        problems.push(
          problem(
            'history',
            `the version committed at ${short(v.commit)} does not extend the one at ${short(last.commit)}: ${gap}`,
          ),
        );
      }
    }
    states.push({ state: v.record.state, commit: v.commit });
    last = { record: v.record, commit: v.commit };
  }
  return { problems, notes, states };
}

/** Why `b` is not `a` with events appended, or undefined when it is. */
export function extensionProblem(a: EvidenceRecord, b: EvidenceRecord): string | undefined {
  const n = Math.min(a.events.length, b.events.length);
  for (let i = 0; i < n; i++) {
    if (a.events[i]!.chain.hash !== b.events[i]!.chain.hash) {
      return `events[${i}] (${a.events[i]!.step} at ${a.events[i]!.at}) was changed or replaced (events edited, reordered, or the history rewritten)`;
    }
  }
  if (b.events.length < a.events.length) {
    const dropped = a.events.slice(b.events.length);
    return `${dropped.length} event(s) removed, the newest being ${dropped.at(-1)!.step} at ${dropped.at(-1)!.at} (the file was put back to an earlier state)`;
  }
  return undefined;
}
