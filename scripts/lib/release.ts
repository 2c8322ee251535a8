/**
 * The pure parts of `npm run release -- X.Y.Z` (scripts/release.ts): which version comes next,
 * the CHANGELOG with its Unreleased section moved under that version, the release notes, and
 * package.json / package-lock.json with the new version. No I/O here, so each is tested as text.
 */

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export type Semver = readonly [major: number, minor: number, patch: number];

export function parseSemver(v: string): Semver | undefined {
  const m = SEMVER.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: Semver, b: Semver): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * The version to release: `requested` is X.Y.Z, or major / minor / patch counted from `current`.
 * It must be a plain X.Y.Z (tags are vX.Y.Z; no pre-releases, since the moving major tag would
 * follow them) and later than `current`, unless this is the first release of `current` itself
 * (`firstRelease`: package.json already says 0.1.0 and no tag v0.1.0 exists yet).
 */
export function nextVersion(current: string, requested: string, firstRelease = false): string {
  const cur = parseSemver(current);
  if (!cur) throw new Error(`package.json version ${JSON.stringify(current)} is not X.Y.Z`);
  const bumps: Record<string, Semver> = {
    major: [cur[0] + 1, 0, 0],
    minor: [cur[0], cur[1] + 1, 0],
    patch: [cur[0], cur[1], cur[2] + 1],
  };
  const wanted = bumps[requested] ?? parseSemver(requested.replace(/^v/, ''));
  if (!wanted)
    throw new Error(`${JSON.stringify(requested)} is not a version: give X.Y.Z (e.g. 0.2.0), major, minor or patch`);
  const order = compare(wanted, cur);
  if (order < 0 || (order === 0 && !firstRelease))
    throw new Error(`${wanted.join('.')} is not later than the current version ${current}`);
  return wanted.join('.');
}

/** The moving tag that follows the newest release of a major version: v0 for 0.y.z, v1 for 1.y.z. */
export const majorTag = (version: string): string => `v${parseSemver(version)![0]}`;

const UNRELEASED = /^## \[Unreleased\][^\n]*\n/im;
const NEXT_SECTION = /^## \[/m;

/** The body of the Unreleased section (between its heading and the next `## [` heading or the link list). */
function unreleasedBody(changelog: string): { start: number; end: number; body: string } {
  const head = UNRELEASED.exec(changelog);
  if (!head) throw new Error('CHANGELOG.md has no "## [Unreleased]" section');
  const start = head.index + head[0].length;
  const rest = changelog.slice(start);
  const next = NEXT_SECTION.exec(rest);
  const links = /^\[[^\]]+\]: /m.exec(rest);
  const cut = Math.min(next?.index ?? rest.length, links?.index ?? rest.length);
  return { start, end: start + cut, body: rest.slice(0, cut) };
}

/**
 * The CHANGELOG after releasing `version` on `date` (YYYY-MM-DD, UTC): the Unreleased entries
 * move under `## [version] - date`, an empty Unreleased section stays on top, and the compare
 * links at the bottom (Keep a Changelog) point Unreleased at vVERSION...HEAD.
 */
export function releaseChangelog(changelog: string, version: string, date: string, repoUrl: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`${date} is not YYYY-MM-DD`);
  if (new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm').test(changelog))
    throw new Error(`CHANGELOG.md already has a section for ${version}`);
  const { start, end, body } = unreleasedBody(changelog);
  if (!/^\s*- /m.test(body))
    throw new Error('the Unreleased section of CHANGELOG.md lists no change: add what this release changes');
  const released = `\n## [${version}] - ${date}\n\n${body.trim()}\n\n`;
  let out = `${changelog.slice(0, start)}${released}${changelog.slice(end).replace(/^\n+/, '')}`;
  const previous = /^## \[(\d+\.\d+\.\d+)\]/m.exec(changelog.slice(end))?.[1];
  const unreleasedLink = `[Unreleased]: ${repoUrl}/compare/v${version}...HEAD`;
  const versionLink = previous
    ? `[${version}]: ${repoUrl}/compare/v${previous}...v${version}`
    : `[${version}]: ${repoUrl}/releases/tag/v${version}`;
  if (/^\[Unreleased\]: .*$/m.test(out))
    out = out.replace(/^\[Unreleased\]: .*$/m, `${unreleasedLink}\n${versionLink}`);
  else out = `${out.trimEnd()}\n\n${unreleasedLink}\n${versionLink}\n`;
  return out;
}

/** The entries of one released version: the GitHub release notes and the annotated tag's message. */
export function releaseNotes(changelog: string, version: string): string {
  const head = new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\][^\\n]*\\n`, 'm').exec(changelog);
  if (!head) throw new Error(`CHANGELOG.md has no section for ${version}`);
  const rest = changelog.slice(head.index + head[0].length);
  const next = /^(## \[|\[[^\]]+\]: )/m.exec(rest);
  return rest.slice(0, next?.index ?? rest.length).trim();
}

/** package.json text with its top-level "version" replaced, formatting kept. */
export function setPackageVersion(packageJson: string, version: string): string {
  const re = /^( {2}"version": )"[^"]*"/m;
  if (!re.test(packageJson)) throw new Error('package.json has no top-level "version"');
  return packageJson.replace(re, `$1"${version}"`);
}

/** package-lock.json text with the root package's version (top level and packages[""]) replaced. */
export function setLockVersion(lockJson: string, version: string): string {
  const lock = JSON.parse(lockJson) as { version?: string; packages?: Record<string, { version?: string }> };
  lock.version = version;
  const root = lock.packages?.[''];
  if (root) root.version = version;
  return `${JSON.stringify(lock, null, 2)}\n`;
}
