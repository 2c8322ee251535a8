import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order test files start in: the longest first, so that the short ones fill the gaps at the
 * end. "Longest" is the file's duration in vitest's results cache; without one (a fresh clone)
 * the suites that mostly wait on the simulated fleet go first (fault suites, then end-to-end),
 * larger files first within each. Vitest's own order puts every file the cache marks failed
 * first, and `npm run mutate` fills the cache with failures on purpose (its mutated copies share
 * it): a 20-second end-to-end file left for last made the suite 10–15 s longer.
 */
const RANK = ['test/faults/', 'test/e2e/', 'test/oracle/', 'test/sim/', 'test/unit/'];

function rank(file: string): number {
  const i = RANK.findIndex((dir) => file.includes(`/${dir}`));
  return i < 0 ? RANK.length : i;
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const duration = (f: TestSpecification): number | undefined =>
      this.ctx.cache.getFileTestResults(`${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`)?.duration;
    const known = files.every((f) => duration(f) !== undefined);
    const size = (f: TestSpecification) => statSync(f.moduleId).size;
    return [...files].sort((a, b) =>
      known ? (duration(b) ?? 0) - (duration(a) ?? 0) : rank(a.moduleId) - rank(b.moduleId) || size(b) - size(a),
    );
  }
}
