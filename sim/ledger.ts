/**
 * The runs and simulator sets the tests used, for the global after-each hooks (test/setup/): kept
 * in a module of its own, with no import but types, so that the hooks of the many test files that
 * never start a simulator cost nothing; they load the scanners only when there is something to scan.
 */
import type { Simulators } from './index.js';
import type { ActionRun } from './runner.js';

/**
 * Every run and every simulator set a test used, so a global after-each hook
 * (test/setup/leak-guard.ts) can scan all of them for secrets without each
 * test remembering to.
 */
export const runLedger: { runs: ActionRun[]; sims: Set<Simulators> } = { runs: [], sims: new Set() };

/**
 * The same for the invariant oracle (test/setup/oracle.ts), kept apart because the leak guard
 * empties runLedger. `active` counts runs in flight per GITHUB_API_URL: a simulator set is judged
 * only when no run is still using it (concurrent fault cases share one process).
 */
export const oracleLedger: { runs: ActionRun[]; sims: Set<Simulators>; active: Map<string, number> } = {
  runs: [],
  sims: new Set(),
  active: new Map(),
};
