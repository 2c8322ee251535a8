import { afterEach } from 'vitest';
import { oracleLedger, runLedger } from '../../sim/ledger.js';

/**
 * After every test: scan every action run it made (stdout, stderr, outputs, summary) and every
 * file and commit message the simulated repository received, on any branch, for every secret
 * the simulators issued or hold, in raw, base64, URL- and JSON-escaped form. `::add-mask::`
 * lines are the only allowed place.
 *
 * "Secret" includes every string the simulated MDM configurations hold that is not a key id the
 * tenant lists (spec §9). Issue 11 went unnoticed because the guard knew only credentials: an
 * intent that points `mdm.settings.keyId` at another setting made the action print that
 * setting's value, which the guard never looked for unless it happened to be the api key; and it
 * read only the default branch, so evidence on an `evidence-branch` went unscanned.
 *
 * stdout and stderr are scanned as a user sees them in the Actions log: masks applied the way
 * the runner applies them (sim/runner.ts maskedView). So masking is judged where it happens:
 * a secret the run registered must be registered in every encoded form (a value printed in a
 * form the run forgot to mask is what the user would see), issue 13.
 */
afterEach(async () => {
  const runs = runLedger.runs.splice(0);
  const sims = [...runLedger.sims];
  // A set a concurrent test still has a run in flight on stays, so that run is scanned for its
  // secrets when it ends (describe.concurrent files and the fault suites share one ledger).
  for (const s of sims) if ((oracleLedger.active.get(s.urls.github) ?? 0) === 0) runLedger.sims.delete(s);
  if (runs.length === 0 || sims.length === 0) return;
  // The scanners load only here: most test files never run the action (leak-scan-runs.ts).
  const { scanRuns } = await import('./leak-scan-runs.js');
  scanRuns(runs, sims);
});
