import { expect } from 'vitest';
import type { Simulators } from '../../sim/index.js';
import type { ActionRun } from '../../sim/runner.js';
import { findLeaks } from '../leak-scan.js';
import {
  appendEvent,
  parseRecord,
  serializeRecord,
  verifyChain,
  withMac,
  type EventStep,
  type EvidenceRecord,
} from '../../src/evidence/record.js';

export function evidencePath(sims: Simulators, name = 'corpsec-macos-2026-12'): string {
  return `.thoth/evidence/${sims.ids.fleetId}/${name}.json`;
}

/** The committed record, parsed and its hash chain (and MAC, given the key) checked. */
export function readEvidence(sims: Simulators, name?: string, macKey?: Buffer): EvidenceRecord | undefined {
  const text = sims.github.file(evidencePath(sims, name), 'main');
  if (text === undefined) return undefined;
  const record = parseRecord(text, evidencePath(sims, name), { macKey });
  const chain = verifyChain(record);
  if (!chain.ok) throw new Error(`evidence chain broken at ${chain.index}: ${chain.problem}`);
  return record;
}

const TEST_RUN = { id: 'test', attempt: 1, actor: 'test', sha: '0'.repeat(40) };

/**
 * Change a committed record the way the action itself would: the change plus an event that
 * commits to it, re-chained with the project's own functions (and sealed when `macKey` is
 * given). Tests use it to stand in for time passing (a lease running out); a forger can do
 * the same, which is why the MAC exists.
 */
export function amendEvidence(
  s: Simulators,
  file: string,
  change: (r: EvidenceRecord) => EvidenceRecord,
  o: { macKey?: Buffer; note?: string; step?: EventStep } = {},
): EvidenceRecord {
  const r = parseRecord(s.github.file(file, 'main')!, file);
  const amended = withMac(
    appendEvent(change(r), {
      at: new Date().toISOString(),
      // A step the action writes (a record naming an unknown step is refused), and one no test
      // counts or the fault report lists (test/faults/lib.ts NOTABLE); the note says why.
      step: o.step ?? 'window-check',
      outcome: 'info',
      detail: `changed by the test${o.note ? `: ${o.note}` : ''}`,
      run: TEST_RUN,
    }),
    o.macKey,
  );
  s.github.putFile(file, serializeRecord(amended), { branch: 'main', message: `test: ${o.note ?? 'amend'}` });
  return amended;
}

/**
 * Rewrites the committed record as anyone who can push to the evidence branch could: `edit`
 * changes its fields, then every event is appended again with the project's own appendEvent,
 * so the forged record verifies whatever the chain commits to (no MAC key is involved).
 */
export function forgeEvidence(
  sims: Simulators,
  edit: (fields: EvidenceRecord) => EvidenceRecord,
  name?: string,
): EvidenceRecord {
  const real = readEvidence(sims, name);
  if (!real) throw new Error('forgeEvidence: no record to start from');
  let forged = edit({ ...real, events: [] });
  for (const { chain: _chain, ...event } of real.events) forged = appendEvent(forged, event);
  sims.github.putFile(evidencePath(sims, name), serializeRecord(forged), {
    branch: 'main',
    message: 'edit evidence by hand',
  });
  expect(readEvidence(sims, name)).toEqual(forged);
  return forged;
}

/**
 * The runs after a first apply that validated at `validatedAt` (intents with a 12 s validation
 * window): one inside the window mutates nothing; one after it re-validates and revokes the old
 * key (completed); one more finds nothing to do and mutates nothing.
 */
export async function finishRotation(
  s: Simulators,
  validatedAt: string,
  apply: () => Promise<ActionRun>,
): Promise<{ early: ActionRun; second: ActionRun; third: ActionRun }> {
  s.log.clear();
  const early = await apply();
  expect(early.code, early.stdout).toBe(0);
  expect(Date.now()).toBeLessThan(Date.parse(validatedAt) + 12_000);
  expect(s.log.mutations()).toEqual([]);

  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(validatedAt) + 12_100 - Date.now())));
  const second = await apply();
  expect(second.code, second.stdout).toBe(0);
  expect(second.outputs['status']).toBe('completed');
  expect(s.thoth.keys().find((k) => k.id === s.ids.oldKeyId)!.active).toBe(false);
  expect(readEvidence(s)!.state).toBe('completed');

  s.log.clear();
  const third = await apply();
  expect(third.code).toBe(0);
  expect(third.outputs['status']).toBe('unchanged');
  expect(s.log.mutations()).toEqual([]);
  return { early, second, third };
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
  for (const c of s.github.commits('main'))
    sources[`commit ${c.sha}`] = `${c.message}\n${c.files?.map((f: { text: string }) => f.text).join('\n') ?? ''}`;
  expect(findLeaks(sources, s.secrets())).toEqual([]);
}
