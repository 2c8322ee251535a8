/**
 * The verification report (spec action.md §11): what `mode: verify` writes to the file named
 * by output `report`. One entry per record found on the evidence branch, plus the hygiene
 * findings. Every string that came from a record or an API is data, not markup: the summary
 * escapes it (summary.ts `esc`), the log neutralises it (log.ts).
 */

/** One record: `ok` is `problems.length === 0`; each problem starts with the check that found it. */
export interface RecordReport {
  readonly path: string;
  /** The state the record claims (`unknown` when it could not be read). */
  readonly state: string;
  readonly ok: boolean;
  /** Violations, each `<check>: <what is wrong>`; check ∈ schema, chain, mac, identity, transitions, timestamps, history, live. */
  readonly problems: string[];
  /** What was not checked, or is worth a look without being a violation. */
  readonly notes: string[];
}

/** An active key scoped to a managed fleet (or endpoint) that no record mentions (a finding, not a violation). */
export interface UnaccountedKey {
  readonly keyId: string;
  readonly name: string | null;
  readonly scope: string;
  readonly target: string;
  readonly createdAt: string | null;
}

export interface VerifyReport {
  readonly records: RecordReport[];
  readonly unaccountedKeys: UnaccountedKey[];
  /** Where the history came from: the checkout's git history or the REST API, and what was read. */
  readonly source: { readonly history: 'git' | 'rest'; readonly branch: string; readonly commit?: string };
  readonly status: 'verified' | 'violations';
}

/** Problems are prefixed with the check, so a reader (and a test) sees which one failed. */
export type Check = 'schema' | 'chain' | 'mac' | 'identity' | 'transitions' | 'timestamps' | 'history' | 'live';
export const problem = (check: Check, text: string): string => `${check}: ${text}`;
