/** Builds dist/ unless the stamp says it is a build of the current sources (scripts/lib/dist-stamp.ts). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh, STAMP_PATH, stampText } from './lib/dist-stamp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (distIsFresh(ROOT)) console.log('dist/ is a build of the current sources: not rebuilding');
else {
  console.log('building dist/ (npm run build) …');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(path.dirname(path.join(ROOT, STAMP_PATH)), { recursive: true });
  writeFileSync(path.join(ROOT, STAMP_PATH), stampText(ROOT));
}
