import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order test files start in: the longest first, so that the short ones fill the gaps at the
 * end. "Longest" is the file's duration in vitest's results cache when its last run passed; a
 * file without one (new, or a fresh clone) is given a typical duration for its suite (fault
 * suites, then end-to-end, oracle, simulators, unit), larger files first. A failed entry is not
 * trusted: `npm run mutate` runs mutated copies that share the cache and stop at the first
 * failure, and vitest's own order starts every file the cache marks failed first — one such run
 * left a 20-second end-to-end file for last and made the suite 10–15 s longer.
 */
const TYPICAL_MS: readonly (readonly [string, number])[] = [
  ['/test/faults/', 60_000],
  ['/test/e2e/', 15_000],
  ['/test/oracle/', 10_000],
  ['/test/sim/', 3_000],
  ['/test/unit/', 1_000],
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const expected = new Map<TestSpecification, number>();
    for (const f of files) {
      const cached = this.ctx.cache.getFileTestResults(
        `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`,
      );
      const typical = TYPICAL_MS.find(([dir]) => f.moduleId.includes(dir))?.[1] ?? 1_000;
      expected.set(f, cached && !cached.failed ? cached.duration : typical + statSync(f.moduleId).size / 1_000);
    }
    return [...files].sort((a, b) => (expected.get(b) ?? 0) - (expected.get(a) ?? 0));
  }
}
