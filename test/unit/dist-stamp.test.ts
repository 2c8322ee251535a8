import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { distIsFresh, STAMP_PATH, stampText } from '../../scripts/lib/dist-stamp.js';

function project(): { root: string; write(rel: string, text: string): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'thoth-stamp-'));
  const write = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  for (const [rel, text] of Object.entries({
    'src/index.ts': 'main()',
    'src/modes/plan.ts': 'plan()',
    'package.json': '{}',
    'package-lock.json': '{}',
    'tsconfig.json': '{}',
    'dist/index.js': 'bundle',
  }))
    write(rel, text);
  return { root, write };
}

describe('dist stamp (npm run demo skips the build when dist/ is fresh)', () => {
  it('is fresh only after a stamp of these very sources and this very bundle', () => {
    const p = project();
    expect(distIsFresh(p.root), 'no stamp: a fresh clone builds once').toBe(false);
    p.write(STAMP_PATH, stampText(p.root));
    expect(distIsFresh(p.root)).toBe(true);
  });
  it.each([
    ['a source file changes', 'src/modes/plan.ts', 'plan(2)'],
    ['a source file is added', 'src/modes/new.ts', 'x'],
    ['the lock file changes', 'package-lock.json', '{"x":1}'],
    ['dist/ changes (branch switch, hand edit)', 'dist/index.js', 'other bundle'],
  ])('is stale when %s', (_why, rel, text) => {
    const p = project();
    p.write(STAMP_PATH, stampText(p.root));
    p.write(rel, text);
    expect(distIsFresh(p.root)).toBe(false);
  });
  it('ignores files the build does not read', () => {
    const p = project();
    p.write(STAMP_PATH, stampText(p.root));
    p.write('README.md', 'docs');
    p.write('test/unit/x.test.ts', 'test');
    expect(distIsFresh(p.root)).toBe(true);
  });
});
