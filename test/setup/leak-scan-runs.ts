import { expect } from 'vitest';
import { readRemediationScript, type Simulators } from '../../sim/index.js';
import { type ActionRun, maskedView } from '../../sim/runner.js';
import { configurationSecrets, findLeaks, secretVariants } from '../leak-scan.js';

/** The leak guard's scan (test/setup/leak-guard.ts), loaded only by tests that ran the action. */
export function scanRuns(runs: readonly ActionRun[], sims: readonly Simulators[]): void {
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
}

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
