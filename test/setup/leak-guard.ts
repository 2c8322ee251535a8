import { afterEach, expect } from 'vitest';
import { runLedger } from '../../sim/runner.js';
import { findLeaks } from '../leak-scan.js';

/**
 * After every test: scan every action run it made (stdout, stderr, outputs,
 * summary) and every file and commit message the simulated repository received,
 * for every secret the simulators issued or hold, in raw, base64, URL- and
 * JSON-escaped form. `::add-mask::` lines are the only allowed place.
 */
afterEach(() => {
  const runs = runLedger.runs.splice(0);
  const sims = [...runLedger.sims];
  runLedger.sims.clear();
  if (runs.length === 0 || sims.length === 0) return;
  const sources: Record<string, string> = {};
  runs.forEach((r, i) => {
    sources[`run ${i} stdout`] = r.stdout;
    sources[`run ${i} stderr`] = r.stderr;
    sources[`run ${i} summary`] = r.summary;
    sources[`run ${i} outputs`] = JSON.stringify(Object.fromEntries(Object.entries(r.outputs).filter(([k]) => k !== 'api-key')));
  });
  const secrets: string[] = [];
  for (const s of sims) {
    try {
      secrets.push(...s.secrets());
      for (const branch of ['main']) {
        for (const c of s.github.commits(branch)) {
          sources[`commit ${c.sha}`] = [c.message, ...(c.files ?? []).map((f: { text: string }) => f.text)].join('\n');
        }
      }
    } catch {
      // simulators already closed by the test: their secrets were captured when it scanned itself
    }
  }
  expect(findLeaks(sources, secrets), 'secret found in a run output, summary, evidence file or commit').toEqual([]);
});
