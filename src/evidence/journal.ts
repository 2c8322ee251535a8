import { log } from '../log.js';
import { BranchProtectedError, StaleWriteError, type RepoFiles } from '../clients/github-contents.js';
import type { Intent } from '../intent/types.js';
import { redact } from '../secrets.js';
import { appendEvent, parseRecord, serializeRecord, EVIDENCE_SCHEMA, type EvidenceEvent, type EvidenceRecord, type RotationState, type RunInfo } from './record.js';

/** How long a run's claim on a rotation holds without being renewed. */
export interface Lease {
  readonly run: RunInfo;
  readonly until: string;
}

export type EventInput = Pick<EvidenceEvent, 'step' | 'outcome' | 'detail'>;

/**
 * One rotation's evidence record and its place in the repository. Every change is
 * committed at once (the record is the rotation's durable state), guarded by the
 * blob sha so two runs can never both advance the same rotation.
 */
export class Journal {
  readonly path: string;
  readonly #files: RepoFiles;
  readonly #branch: string;
  readonly #run: RunInfo;
  readonly #now: () => Date;
  #sha: string | undefined;
  #record: EvidenceRecord | undefined;
  /** Sha of the last commit this run made. */
  lastCommit: string | undefined;

  private constructor(files: RepoFiles, branch: string, path: string, run: RunInfo, now: () => Date) {
    this.#files = files;
    this.#branch = branch;
    this.path = path;
    this.#run = run;
    this.#now = now;
  }

  static async open(files: RepoFiles, branch: string, intent: Intent, run: RunInfo, now: () => Date): Promise<Journal> {
    const j = new Journal(files, branch, intent.evidencePath, run, now);
    await j.reload();
    return j;
  }

  get record(): EvidenceRecord | undefined {
    return this.#record;
  }

  async reload(): Promise<void> {
    const file = await this.#files.read(this.path, this.#branch);
    this.#sha = file?.sha;
    this.#record = file ? parseRecord(file.text, this.path) : undefined;
  }

  /** A fresh record for an intent that has none yet (not committed until `commit`). */
  static genesis(intent: Intent): EvidenceRecord {
    return {
      schema: EVIDENCE_SCHEMA,
      name: intent.name,
      ...(intent.ticket ? { ticket: intent.ticket } : {}),
      tenant: intent.tenant,
      fleet: { id: intent.fleet.id, region: intent.fleet.region },
      intent: { path: intent.path, sha256: intent.sha256 },
      state: 'pending',
      events: [],
    };
  }

  /**
   * Apply `change` to the record, add the events, and commit. Throws
   * StaleWriteError when another writer moved the file first, unless the file
   * already holds exactly what we meant to write (our own write whose answer was lost).
   */
  async commit(p: { base?: EvidenceRecord; state?: RotationState; set?: Partial<EvidenceRecord>; events: EventInput[]; lease?: Lease | null }): Promise<EvidenceRecord> {
    let next: EvidenceRecord = { ...(p.base ?? this.#record!), ...(p.set ?? {}) };
    if (p.state) next.state = p.state;
    if (p.lease === null) delete next['lease'];
    else if (p.lease) next['lease'] = p.lease;
    for (const e of p.events) {
      next = appendEvent(next, { ...e, detail: redact(e.detail), at: this.#now().toISOString(), run: this.#run });
    }
    const text = serializeRecord(next);
    const message = `thoth-rotate: ${next.name} ${next.state}${p.events.length ? ` (${p.events.map((e) => e.step).join(', ')})` : ''}`;
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
    for (const e of p.events) log.info(`[${next.name}] ${e.step}: ${e.outcome} — ${redact(e.detail)}`);
    log.info(`[${next.name}] evidence: state ${next.state}${this.lastCommit ? ` (commit ${this.lastCommit.slice(0, 12)})` : ''}`);
    return next;
  }
}

export { BranchProtectedError, StaleWriteError };
