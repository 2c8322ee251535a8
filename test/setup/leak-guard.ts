import { afterEach, expect } from 'vitest';
import { readRemediationScript, type Simulators } from '../../sim/index.js';
import { maskedView, oracleLedger, runLedger } from '../../sim/runner.js';
import { configurationSecrets, findLeaks, secretVariants } from '../leak-scan.js';

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
afterEach(() => {
  const runs = runLedger.runs.splice(0);
  const sims = [...runLedger.sims];
  // A set a concurrent test still has a run in flight on stays, so that run is scanned for its
  // secrets when it ends (describe.concurrent files and the fault suites share one ledger).
  for (const s of sims) if ((oracleLedger.active.get(s.urls.github) ?? 0) === 0) runLedger.sims.delete(s);
  if (runs.length === 0 || sims.length === 0) return;
  const sources: Record<string, string> = {};
  const views = runs.map((r) => maskedView(r));
  runs.forEach((r, i) => {
    sources[`run ${i} stdout`] = views[i]!.stdout;
    sources[`run ${i} stderr`] = views[i]!.stderr;
    sources[`run ${i} summary`] = r.summary;
    sources[`run ${i} outputs`] = JSON.stringify(
      Object.fromEntries(Object.entries(r.outputs).filter(([k]) => k !== 'api-key')),
    );
  });
  const secrets: string[] = [];
  for (const s of sims) {
    try {
      secrets.push(...s.secrets(), ...simConfigurationSecrets(s));
      for (const c of s.github.allCommits()) {
        sources[`commit ${c.sha}`] = [c.message, ...(c.files ?? []).map((f: { text: string }) => f.text)].join('\n');
      }
    } catch {
      // simulators already closed by the test: their secrets were captured when it scanned itself
    }
  }
  expect(findLeaks(sources, secrets), 'secret found in a run output, summary, evidence file or commit').toEqual([]);
  // A run killed by a signal (crash tests) may die between two of a secret's mask lines, having
  // printed nothing after them: only runs that ran to their end must have masked every form.
  const finished = views.filter((_, i) => runs[i]!.signal === null);
  expect(unmaskedForms(finished, secrets), 'a secret the run masked is not masked in every encoded form').toEqual([]);
});

/** Every value the simulators' MDM configurations ever held that is not a key id of the tenant. */
function simConfigurationSecrets(s: Simulators): string[] {
  const tenantKeys = new Set(
    s.thoth
      .keys()
      .filter((k) => k.tenant === s.creds.tenant)
      .map((k) => k.id),
  );
  const scripts = s.graph
    .scriptVersions()
    .map(readRemediationScript)
    .filter((v) => v !== null);
  return configurationSecrets([...s.jamf.profileVersions(), ...s.graph.configVersions()], scripts, tenantKeys);
}

/** For every secret a run registered with `::add-mask::`, the encoded forms it did not register. */
export function unmaskedForms(views: readonly { masks: string[] }[], secrets: readonly string[]): string[] {
  const out: string[] = [];
  views.forEach((v, i) => {
    const masks = new Set(v.masks);
    for (const s of new Set(secrets)) {
      if (!masks.has(s)) continue;
      const missing = secretVariants(s).filter((f) => f.length >= 4 && !masks.has(f));
      if (missing.length)
        out.push(
          `run ${i}: ${s.slice(0, 6)}… masked raw but not as ${missing.map((f) => `${f.slice(0, 6)}…`).join(', ')}`,
        );
    }
  });
  return out;
}
