/**
 * `npm run release -- X.Y.Z` (or major / minor / patch): prepares a release on a clean main and
 * stops before anything leaves the machine. Checks: on main, nothing uncommitted, tag vX.Y.Z free,
 * dist/ equal to a fresh build, CI (.ci/run) green on this commit. Then: package.json and
 * package-lock.json get the version, CHANGELOG.md's Unreleased entries move under it with today's
 * UTC date, one commit "Release vX.Y.Z", and the annotated tag vX.Y.Z carrying the release notes.
 * It prints the commands that publish (push main and the tag, move vX, create the GitHub release);
 * a person runs them after reading the diff. docs/releasing.md is the whole process.
 *
 * --skip-ci skips .ci/run (only when CI already passed on this very commit).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  majorTag,
  nextVersion,
  releaseChangelog,
  releaseNotes,
  setLockVersion,
  setPackageVersion,
} from './lib/release.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO_URL = 'https://github.com/acme-corp/thoth-rotate';

const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');
const write = (rel: string, text: string): void => writeFileSync(path.join(ROOT, rel), text);

function fail(message: string): never {
  console.error(`release: ${message}`);
  process.exit(1);
}

function run(cmd: string, args: string[]): void {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

const args = process.argv.slice(2);
const requested = args.find((a) => !a.startsWith('--'));
if (!requested) fail('usage: npm run release -- X.Y.Z | major | minor | patch [--skip-ci]');

const branch = git('rev-parse', '--abbrev-ref', 'HEAD');
if (branch !== 'main') fail(`releases are cut from main; this is ${branch}`);
if (git('status', '--porcelain') !== '') fail('the work tree has uncommitted changes: commit or stash them first');

const current = (JSON.parse(read('package.json')) as { version: string }).version;
const tagExists = (tag: string): boolean =>
  spawnSync('git', ['rev-parse', '-q', '--verify', `refs/tags/${tag}`]).status === 0;
let version: string;
try {
  version = nextVersion(current, requested, !tagExists(`v${current}`));
} catch (e) {
  fail((e as Error).message);
}
const tag = `v${version}`;
if (tagExists(tag)) fail(`tag ${tag} exists already; release tags are never moved or reused`);

// The CHANGELOG first: an empty Unreleased section should stop the release before a long build.
const today = new Date().toISOString().slice(0, 10);
let changelog: string;
try {
  changelog = releaseChangelog(read('CHANGELOG.md'), version, today, REPO_URL);
} catch (e) {
  fail((e as Error).message);
}

console.log(`== dist/ is a fresh bundle of src/`);
run('npm', ['run', 'build', '--silent']);
if (git('status', '--porcelain', '--', 'dist') !== '')
  fail('dist/ differs from a fresh npm run build: commit the rebuilt dist/ on main first');

if (args.includes('--skip-ci')) console.log('== CI skipped (--skip-ci): it must have passed on this commit');
else {
  console.log('== CI (.ci/run)');
  run('bash', ['.ci/run']);
  if (git('status', '--porcelain') !== '') fail('.ci/run changed tracked files; look at git status');
}

write('CHANGELOG.md', changelog);
write('package.json', setPackageVersion(read('package.json'), version));
write('package-lock.json', setLockVersion(read('package-lock.json'), version));
const notes = releaseNotes(changelog, version);
const notesFile = path.join(tmpdir(), `thoth-rotate-${tag}-notes.md`);
writeFileSync(notesFile, `${notes}\n`);

git('add', 'CHANGELOG.md', 'package.json', 'package-lock.json');
git('commit', '-q', '-m', `Release ${tag}`);
git('tag', '-a', '--cleanup=verbatim', tag, '-m', `thoth-rotate ${tag}\n\n${notes}`);

const major = majorTag(version);
console.log(`
Prepared ${tag} (commit ${git('rev-parse', '--short', 'HEAD')}, annotated tag ${tag}). Nothing was pushed.
Read it (git show ${tag}), then publish:

  git push origin main
  git push origin ${tag}
  git tag -fa ${major} -m "thoth-rotate ${major} → ${tag}" ${tag}^{commit}
  git push --force origin refs/tags/${major}
  gh release create ${tag} --verify-tag --title "${tag}" --notes-file ${notesFile}

Release tags (${tag}) are immutable; only ${major} moves.`);
