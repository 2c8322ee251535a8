import { afterEach, expect } from 'vitest';
import type { Simulators } from '../../sim/index.js';
import { oracleLedger } from '../../sim/ledger.js';
import type { Invariant } from '../oracle/judge.js';

/**
 * After every test: judge every simulator set a finished run used with the invariant oracle
 * (test/oracle/judge.ts), from what the simulators saw. A set still in use by a run (concurrent
 * fault cases) waits for a later test's turn. Tests that break an invariant on purpose (to show a
 * check sees it) say so with `expectViolation`.
 */
const expected = new WeakMap<Simulators, Set<Invariant>>();

/** This simulator set breaks `invariants` on purpose: the oracle skips those checks for it. */
export function expectViolation(sims: Simulators, ...invariants: Invariant[]): void {
  const set = expected.get(sims) ?? new Set<Invariant>();
  for (const i of invariants) set.add(i);
  expected.set(sims, set);
}

const evidenceRepo = new WeakMap<Simulators, Simulators>();

/** This simulator set's runs commit evidence to `repo`'s GitHub (fleets sharing one evidence branch). */
export function evidenceIn(sims: Simulators, repo: Simulators): void {
  evidenceRepo.set(sims, repo);
}

afterEach(async () => {
  if (oracleLedger.sims.size === 0) return;
  // The oracle loads only here: most test files never start a simulator.
  const { judge } = await import('../oracle/judge.js');
  const problems: string[] = [];
  for (const s of [...oracleLedger.sims]) {
    const repo = evidenceRepo.get(s) ?? s;
    if ((oracleLedger.active.get(repo.urls.github) ?? 0) > 0) continue;
    oracleLedger.sims.delete(s);
    const skip = expected.get(s) ?? new Set<Invariant>();
    for (const p of judge(s, oracleLedger.runs, repo))
      if (!skip.has(p.invariant)) problems.push(`(${p.invariant}) ${p.text}`);
  }
  expect(problems, 'invariant oracle (test/oracle/judge.ts): the simulators saw an unsafe sequence').toEqual([]);
});
