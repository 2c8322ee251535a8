import { type Log, log } from '../log.js';
import { BranchProtectedError, StaleWriteError, type RepoFiles } from '../clients/github-contents.js';
import type { Intent } from '../intent/types.js';
import { redact } from '../secrets.js';
import { identityMismatches, pinTarget, shown, targetChanges } from './pinning.js';
import {
  appendEvent,
  EvidenceError,
  EVIDENCE_SCHEMA,
  isTerminalState,
  parseRecord,
  scrubFields,
  serializeRecord,
  withMac,
  type EvidenceEvent,
  type EvidenceRecord,
  type Lease,
  type RotationState,
  type RunInfo,
} from './record.js';

export type { Lease } from './record.js';

export type EventInput = Pick<EvidenceEvent, 'step' | 'outcome' | 'detail'>;

export interface JournalOptions {
  /** `evidence-hmac-key`: records must carry a MAC made with it, and every commit carries one. */
  readonly macKey?: Buffer | undefined;
  /**
   * `plan`: the record is only read. A record sealed with a MAC is then chain-checked and a
   * warning says the MAC was not checked; a run that writes needs the key (see `reload`).
   */
  readonly readOnly?: boolean;
  /** Where each commit's events are logged (default: the job log). */
  readonly log?: Log;
}

/**
 * One rotation's evidence record and its place in the repository. The record is the rotation's
 * durable state: a change is committed before any external mutation a later run must know of,
 * guarded by the blob sha so two runs can never both advance the same rotation. A change that
 * nothing external depends on yet is staged and rides along with the next commit (`stage`):
 * GitHub limits content creation (about 80 commits a minute, 500 an hour), so a rotation makes
 * as few commits as these guarantees allow (docs/reliability.md, "Evidence commits").
 *
 * A record is a claim, not state to believe (spec §9): it is loaded only when its chain (and
 * MAC, with a key) verifies, its identity is this intent's, and, while the rotation is in
 * flight, its pinned target is the intent's. Otherwise `open`/`reload` throw an
 * EvidenceError naming the file and what differs, before the caller mutates anything.
 */
export class Journal {
  readonly path: string;
  readonly #files: RepoFiles;
  readonly #branch: string;
  readonly #intent: Intent;
  readonly #run: RunInfo;
  readonly #now: () => Date;
  readonly #opts: JournalOptions;
  #sha: string | undefined;
  #record: EvidenceRecord | undefined;
  /** The record as last read or written: what `discard` goes back to. */
  #written: EvidenceRecord | undefined;
  /** Sha of the last commit this run made. */
  lastCommit: string | undefined;
  /** What the last read found worth telling the user without stopping (e.g. an unchecked MAC). */
  warnings: string[] = [];

  private constructor(
    files: RepoFiles,
    branch: string,
    intent: Intent,
    run: RunInfo,
    now: () => Date,
    opts: JournalOptions,
  ) {
    this.#files = files;
    this.#branch = branch;
    this.path = intent.evidencePath;
    this.#intent = intent;
    this.#run = run;
    this.#now = now;
    this.#opts = opts;
  }

  static async open(
    files: RepoFiles,
    branch: string,
    intent: Intent,
    run: RunInfo,
    now: () => Date,
    opts: JournalOptions = {},
  ): Promise<Journal> {
    const j = new Journal(files, branch, intent, run, now, opts);
    await j.reload();
    return j;
  }

  get record(): EvidenceRecord | undefined {
    return this.#record;
  }

  async reload(): Promise<void> {
    const file = await this.#files.read(this.path, this.#branch);
    const record = file ? parseRecord(file.text, this.path, { macKey: this.#opts.macKey }) : undefined;
    this.warnings = record ? this.#check(record) : [];
    this.#sha = file?.sha;
    this.#record = record;
    this.#written = record;
  }

  /** Identity, MAC policy and target pinning (spec §9); returns warnings, throws what stops the intent. */
  #check(record: EvidenceRecord): string[] {
    const intent = this.#intent;
    const identity = identityMismatches(record, intent);
    if (identity.length > 0) {
      throw new EvidenceError(
        `${this.path}: this record is not the evidence of intent ${intent.path}: ${identity.join('; ')}; nothing was changed for this intent. ` +
          'Restore the file from the evidence branch history, or move a record that belongs to another rotation back to its own path',
      );
    }
    const warnings: string[] = [];
    if (record.mac !== undefined && !this.#opts.macKey) {
      const unchecked = `${this.path}: the record carries a mac, but evidence-hmac-key is not set, so only its hash chain was checked`;
      if (!this.#opts.readOnly) {
        // Writing would either leave a MAC that no longer matches or silently drop the seal.
        throw new EvidenceError(
          `${unchecked}; a run that changes the record needs the key: pass evidence-hmac-key (the key the record was sealed with) to this step. Nothing was changed for this intent`,
        );
      }
      warnings.push(unchecked);
    }
    if (!isTerminalState(record.state)) {
      const changes = targetChanges(record, intent);
      if (changes.length > 0) {
        const list = changes.map((c) => `${c.field} (was ${shown(c.was)}, now ${shown(c.now)})`).join(', ');
        throw new EvidenceError(
          `${this.path}: the rotation is in flight (state ${record.state}) and ${intent.path} changed what it targets: ${list}; nothing was changed for this intent. ` +
            'Restore those fields so the rotation can finish or roll back on the target it started on, then make the change under a new intent name (a new name starts a new rotation and a new record)',
        );
      }
    }
    return warnings;
  }

  /** A fresh record for an intent that has none yet (not committed until `commit` adds its first event). */
  static genesis(intent: Intent): EvidenceRecord {
    return {
      schema: EVIDENCE_SCHEMA,
      name: intent.name,
      ...(intent.ticket ? { ticket: intent.ticket } : {}),
      tenant: intent.tenant,
      fleet: { id: intent.fleet.id, region: intent.fleet.region },
      intent: { path: intent.path, sha256: intent.sha256 },
      target: pinTarget(intent),
      state: 'pending',
      events: [],
    };
  }

  /** The change `stage` holds in memory, not yet committed (its events are not in the repository). */
  get hasStaged(): boolean {
    return this.#record !== this.#written;
  }

  /**
   * Apply a change and its events in memory only; the next `commit` writes it together with its
   * own (one commit instead of two). Only for a change that no external mutation depends on
   * before that commit: a crash in between loses it, so what it records must be something a
   * later run can find out again (the MDM carries the key; a minted key is found by its name).
   * A run that ends on an error records it with its failure (rotate.ts `abandon`).
   */
  stage(p: Change): EvidenceRecord {
    this.#record = this.#next(p);
    return this.#record;
  }

  /** Forget what `stage` holds (the commit that was to carry it failed; the caller recorded why). */
  discard(): void {
    this.#record = this.#written;
  }

  /**
   * Apply `change` to the record, add the events, and commit, together with anything staged.
   * Every commit adds at least one event: the newest event commits to the record's fields, so a
   * change without an event would be a change the chain does not vouch for. Throws
   * StaleWriteError when another writer moved the file first, unless the file already holds
   * exactly what we meant to write (our own write whose answer was lost).
   */
  async commit(p: Change): Promise<EvidenceRecord> {
    const next = this.#next(p);
    const written = this.#written?.events.length ?? 0;
    // Events since the last write: the staged ones, then this commit's own.
    const fresh = next.events.slice(Math.min(written, next.events.length));
    if (fresh.length === 0)
      throw new Error(
        'Journal.commit needs at least one event: the chain commits to the record through its newest event',
      );
    const text = serializeRecord(next);
    const message = `thoth-rotate: ${next.name} ${next.state} (${fresh.map((e) => e.step).join(', ')})`;
    try {
      const r = await this.#files.write({ path: this.path, branch: this.#branch, text, sha: this.#sha, message });
      this.#sha = r.sha;
      this.lastCommit = r.commit;
    } catch (e) {
      if (!(e instanceof StaleWriteError)) throw e;
      const now = await this.#files.read(this.path, this.#branch);
      if (now?.text !== text) throw e;
      this.#sha = now.sha;
    }
    this.#record = next;
    this.#written = next;
    const out = this.#opts.log ?? log;
    for (const e of fresh) out.info(`[${next.name}] ${e.step}: ${e.outcome} — ${redact(e.detail)}`);
    out.info(
      `[${next.name}] evidence: state ${next.state}${this.lastCommit ? ` (commit ${this.lastCommit.slice(0, 12)})` : ''}`,
    );
    return next;
  }

  /** The record with `p` applied and its events chained onto it (nothing written). */
  #next(p: Change): EvidenceRecord {
    const from = p.base ?? this.#record!;
    if (from.schema !== EVIDENCE_SCHEMA) {
      throw new EvidenceError(
        `${this.path}: is a ${from.schema} record, which this version reads but does not extend; nothing was changed. Move it aside (e.g. rename it to .v1.json) and re-run: a new record is started`,
      );
    }
    let next: EvidenceRecord = { ...from, ...(p.set ?? {}) };
    if (p.state) next.state = p.state;
    if (p.lease === null) delete next.lease;
    else if (p.lease) next.lease = p.lease;
    next = scrubFields(next);
    for (const e of p.events) {
      next = appendEvent(next, { ...e, detail: redact(e.detail), at: this.#now().toISOString(), run: this.#run });
    }
    return withMac(next, this.#opts.macKey);
  }
}

/** One change to the record: fields, state, lease (null releases it) and the events that go with it. */
export interface Change {
  readonly base?: EvidenceRecord;
  readonly state?: RotationState;
  readonly set?: Partial<EvidenceRecord>;
  readonly events: EventInput[];
  readonly lease?: Lease | null;
}

export { BranchProtectedError, StaleWriteError };
