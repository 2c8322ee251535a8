import { expect } from 'vitest';
import type { Simulators } from '../../sim/index.js';
import type { ActionRun } from '../../sim/runner.js';
import { findLeaks } from '../leak-scan.js';
import { parseRecord, verifyChain, type EvidenceRecord } from '../../src/evidence/record.js';

export function evidencePath(sims: Simulators, name = 'corpsec-macos-2026-12'): string {
  return `.thoth/evidence/${sims.ids.fleetId}/${name}.json`;
}

/** The committed record, parsed and its hash chain checked. */
export function readEvidence(sims: Simulators, name?: string): EvidenceRecord | undefined {
  const text = sims.github.file(evidencePath(sims, name), 'main');
  if (text === undefined) return undefined;
  const record = parseRecord(text, evidencePath(sims, name));
  const chain = verifyChain(record);
  if (!chain.ok) throw new Error(`evidence chain broken at ${chain.index}: ${chain.problem}`);
  return record;
}

/** Keys minted during the test (everything but the sims' seed keys). */
export function mintedKeys(sims: Simulators): ReturnType<Simulators['thoth']['keys']> {
  const seed = new Set([sims.ids.oldKeyId, sims.ids.undeployedKeyId, sims.ids.otherTenantKeyId]);
  return sims.thoth.keys().filter((k) => !seed.has(k.id));
}

/** Assert that no secret the simulators know appears in these runs or in any evidence commit. */
export function expectNoLeaks(s: Simulators, runs: readonly ActionRun[]): void {
  const sources: Record<string, string> = {};
  runs.forEach((r, i) => {
    sources[`run${i}.stdout`] = r.stdout;
    sources[`run${i}.stderr`] = r.stderr;
    sources[`run${i}.summary`] = r.summary;
    sources[`run${i}.outputs`] = JSON.stringify(r.outputs);
  });
  for (const c of s.github.commits('main')) sources[`commit ${c.sha}`] = `${c.message}\n${c.files?.map((f: { text: string }) => f.text).join('\n') ?? ''}`;
  expect(findLeaks(sources, s.secrets())).toEqual([]);
}
