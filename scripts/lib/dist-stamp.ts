/**
 * Whether dist/ is a build of the current sources, without building: `npm run demo` skips the
 * minute-long ncc build when it is. The stamp (node_modules/.cache/thoth-rotate/dist-stamp, not
 * committed) holds a hash of what the build reads (src/, package.json, package-lock.json,
 * tsconfig.json) and a hash of the dist/index.js it produced; a change to either side, a branch
 * switch or a hand edit of dist/ included, means build again. No stamp (a fresh clone): build once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const BUILD_INPUTS = ['src', 'package.json', 'package-lock.json', 'tsconfig.json'];
export const STAMP_PATH = 'node_modules/.cache/thoth-rotate/dist-stamp';

function files(root: string, rel: string): string[] {
  const abs = path.join(root, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? files(root, path.join(rel, d.name)) : [path.join(rel, d.name)]))
    .sort();
}

/** sha256 over the names and contents of every file the build reads, in a fixed order. */
export function sourceHash(root: string): string {
  const h = createHash('sha256');
  for (const rel of BUILD_INPUTS.flatMap((r) => files(root, r))) {
    h.update(`${rel.split(path.sep).join('/')}\0`);
    h.update(readFileSync(path.join(root, rel)));
    h.update('\0');
  }
  return h.digest('hex');
}

export function distHash(root: string): string {
  const file = path.join(root, 'dist/index.js');
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'missing';
}

export const stampText = (root: string): string => `${sourceHash(root)} ${distHash(root)}\n`;

export function distIsFresh(root: string): boolean {
  const stamp = path.join(root, STAMP_PATH);
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === stampText(root);
}
