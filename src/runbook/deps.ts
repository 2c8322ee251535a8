import type { ThothApi } from '../clients/thoth.js';
import type { Journal } from '../evidence/journal.js';
import type { RunInfo } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import type { Log } from '../log.js';
import type { MdmProvider } from '../mdm/provider.js';

/**
 * Everything a run of the runbook needs for one intent, rotation or emergency revocation:
 * adapters behind their interfaces, the evidence journal, the clock and the log. Each step
 * takes only the part it uses (`Pick<RunbookDeps, …>`), so its tests fake no more than that.
 */
export interface RunbookDeps {
  readonly intent: Intent;
  readonly thoth: ThothApi;
  readonly mdm: MdmProvider;
  readonly journal: Journal;
  readonly run: RunInfo;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: Log;
  /** `rollback-seal-key`: the pre-change configuration is sealed into the record with it. */
  readonly sealKey?: Buffer | undefined;
}
