import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  majorTag,
  nextVersion,
  releaseChangelog,
  releaseNotes,
  setLockVersion,
  setPackageVersion,
} from '../../scripts/lib/release.js';

const REPO = 'https://github.com/acme-corp/thoth-rotate';

describe('nextVersion', () => {
  it.each([
    ['0.1.0', '0.2.0', '0.2.0'],
    ['0.1.0', 'v0.2.0', '0.2.0'],
    ['0.1.0', 'patch', '0.1.1'],
    ['0.1.3', 'minor', '0.2.0'],
    ['0.9.3', 'major', '1.0.0'],
    ['1.2.3', '1.10.0', '1.10.0'],
  ])('%s + %s → %s', (current, requested, next) => {
    expect(nextVersion(current, requested)).toBe(next);
  });
  it('releases the current version only when it was never tagged (the first release, 0.1.0)', () => {
    expect(nextVersion('0.1.0', '0.1.0', true)).toBe('0.1.0');
    expect(() => nextVersion('0.1.0', '0.1.0')).toThrow('not later than the current version 0.1.0');
  });
  it.each([
    ['0.2.0', '0.1.9', 'not later'],
    ['0.2.0', '0.2', 'is not a version'],
    ['0.2.0', '1.0.0-rc.1', 'is not a version'],
    ['0.2.0', '01.0.0', 'is not a version'],
    ['0.2.0', 'huge', 'is not a version'],
    ['banana', '1.0.0', 'is not X.Y.Z'],
  ])('%s + %s is refused (%s)', (current, requested, why) => {
    expect(() => nextVersion(current, requested)).toThrow(why);
  });
  it('names the moving major tag', () => {
    expect(majorTag('0.3.1')).toBe('v0');
    expect(majorTag('2.0.0')).toBe('v2');
  });
});

const FIRST = `# Changelog

All notable changes.

## [Unreleased]

### Added
- plan, apply and revoke modes.

### Security
- allowed-hosts.
`;

describe('releaseChangelog', () => {
  it('moves the Unreleased entries under the version and date and leaves an empty Unreleased on top', () => {
    const out = releaseChangelog(FIRST, '0.1.0', '2026-12-07', REPO);
    expect(out).toBe(`# Changelog

All notable changes.

## [Unreleased]

## [0.1.0] - 2026-12-07

### Added
- plan, apply and revoke modes.

### Security
- allowed-hosts.

[Unreleased]: ${REPO}/compare/v0.1.0...HEAD
[0.1.0]: ${REPO}/releases/tag/v0.1.0
`);
  });

  it('keeps earlier releases below and links the new one to the previous tag', () => {
    const first = releaseChangelog(FIRST, '0.1.0', '2026-12-07', REPO);
    const next = first.replace('## [Unreleased]\n', '## [Unreleased]\n\n### Fixed\n- a typo.\n');
    const out = releaseChangelog(next, '0.2.0', '2027-01-05', REPO);
    expect(out).toContain(
      '## [Unreleased]\n\n## [0.2.0] - 2027-01-05\n\n### Fixed\n- a typo.\n\n## [0.1.0] - 2026-12-07',
    );
    expect(out).toContain(
      `[Unreleased]: ${REPO}/compare/v0.2.0...HEAD\n[0.2.0]: ${REPO}/compare/v0.1.0...v0.2.0\n[0.1.0]: ${REPO}/releases/tag/v0.1.0\n`,
    );
    expect(releaseNotes(out, '0.2.0')).toBe('### Fixed\n- a typo.');
    expect(releaseNotes(out, '0.1.0')).toBe(
      '### Added\n- plan, apply and revoke modes.\n\n### Security\n- allowed-hosts.',
    );
  });

  it('refuses an empty Unreleased section, a version released before, a missing section or a bad date', () => {
    const released = releaseChangelog(FIRST, '0.1.0', '2026-12-07', REPO);
    expect(() => releaseChangelog(released, '0.2.0', '2027-01-05', REPO)).toThrow('lists no change');
    expect(() => releaseChangelog(released, '0.1.0', '2027-01-05', REPO)).toThrow('already has a section for 0.1.0');
    expect(() => releaseChangelog('# Changelog\n', '0.1.0', '2026-12-07', REPO)).toThrow('no "## [Unreleased]"');
    expect(() => releaseChangelog(FIRST, '0.1.0', '7.12.2026', REPO)).toThrow('not YYYY-MM-DD');
    expect(() => releaseNotes(FIRST, '9.9.9')).toThrow('no section for 9.9.9');
  });
});

describe('version in package files', () => {
  it('replaces only the top-level version of package.json, keeping its formatting', () => {
    const pkg =
      '{\n  "name": "thoth-rotate",\n  "version": "0.1.0",\n  "dependencies": {\n    "x": {\n  "version": "1.0.0"\n}\n  }\n}\n';
    expect(setPackageVersion(pkg, '0.2.0')).toBe(pkg.replace('"version": "0.1.0"', '"version": "0.2.0"'));
  });
  it('sets the root version of package-lock.json in both places, dependencies untouched', () => {
    const lock = JSON.stringify(
      {
        name: 't',
        version: '0.1.0',
        lockfileVersion: 3,
        packages: { '': { version: '0.1.0' }, 'node_modules/x': { version: '1.0.0' } },
      },
      null,
      2,
    );
    const out = JSON.parse(setLockVersion(lock, '0.2.0'));
    expect(out.version).toBe('0.2.0');
    expect(out.packages[''].version).toBe('0.2.0');
    expect(out.packages['node_modules/x'].version).toBe('1.0.0');
  });
});

describe('CHANGELOG.md', () => {
  it('is in the shape npm run release rewrites: its Unreleased entries become the release notes', () => {
    const text = readFileSync(new URL('../../CHANGELOG.md', import.meta.url), 'utf8');
    const released = releaseChangelog(text, '9.0.0', '2030-01-01', REPO);
    const notes = releaseNotes(released, '9.0.0');
    expect(notes).toMatch(/^### Added\n- /);
    expect(released).toContain(`[Unreleased]: ${REPO}/compare/v9.0.0...HEAD\n[9.0.0]: ${REPO}/releases/tag/v9.0.0`);
  });
});
