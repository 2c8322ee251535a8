import { describe, expect, it } from 'vitest';
import { isMintedBy, keyOwner, mintedKeyName, type KeyOwner } from '../../src/runbook/key-name.js';

const OWNER: KeyOwner = {
  repository: 'acme-corp/thoth-rotations',
  fleetId: 'flt-corpsec-macos',
  intentName: 'corpsec',
};
const RUN = { id: '9876543210', attempt: 2 };
const stem = 'thoth-rotate acme-corp/thoth-rotations flt-corpsec-macos/corpsec';

describe('key names', () => {
  it('name repository, fleet, intent, kind and run', () => {
    expect(mintedKeyName(OWNER, 'rotation', RUN)).toBe(`${stem} run 9876543210.2`);
    expect(mintedKeyName(OWNER, 'emergency', RUN)).toBe(`${stem} emergency run 9876543210.2`);
  });

  it('keyOwner takes the repository from GITHUB_REPOSITORY and refuses to guess without it', () => {
    expect(
      keyOwner(
        { name: 'corpsec', fleet: { id: 'flt-corpsec-macos', region: 'us-east-1' } },
        { owner: 'acme-corp', repo: 'thoth-rotations' },
      ),
    ).toEqual(OWNER);
    expect(() =>
      keyOwner({ name: 'corpsec', fleet: { id: 'flt-corpsec-macos', region: 'us-east-1' } }, undefined),
    ).toThrow(/GITHUB_REPOSITORY/);
  });

  const cases: { name: string; key: string | null | undefined; any: boolean; rotation: boolean; emergency: boolean }[] =
    [
      {
        name: 'a rotation key of this intent',
        key: `${stem} run 9876543210.2`,
        any: true,
        rotation: true,
        emergency: false,
      },
      {
        name: 'an emergency replacement of this intent',
        key: `${stem} emergency run 1.1`,
        any: true,
        rotation: false,
        emergency: true,
      },
      { name: 'a local run', key: `${stem} run local.1`, any: true, rotation: true, emergency: false },
      {
        name: 'another intent whose name starts the same (corpsec-2)',
        key: 'thoth-rotate acme-corp/thoth-rotations flt-corpsec-macos/corpsec-2 run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      {
        name: 'another intent that this name starts (corp)',
        key: 'thoth-rotate acme-corp/thoth-rotations flt-corpsec-macos/corp run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      {
        name: 'another fleet whose id starts the same',
        key: 'thoth-rotate acme-corp/thoth-rotations flt-corpsec-macos-2/corpsec run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      {
        name: 'another repository whose name starts the same',
        key: 'thoth-rotate acme-corp/thoth-rotations-2 flt-corpsec-macos/corpsec run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      {
        name: 'the same repository name under another owner',
        key: 'thoth-rotate globex/thoth-rotations flt-corpsec-macos/corpsec run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      {
        name: 'the old style (intent name only)',
        key: 'thoth-rotate corpsec run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      {
        name: 'the old style emergency name',
        key: 'thoth-rotate corpsec emergency run 1.1',
        any: false,
        rotation: false,
        emergency: false,
      },
      { name: 'trailing text', key: `${stem} run 1.1 (copy)`, any: false, rotation: false, emergency: false },
      { name: 'a trailing newline', key: `${stem} run 1.1\n`, any: false, rotation: false, emergency: false },
      { name: 'no attempt', key: `${stem} run 1`, any: false, rotation: false, emergency: false },
      { name: 'no run id', key: `${stem} run .1`, any: false, rotation: false, emergency: false },
      { name: 'another kind word', key: `${stem} manual run 1.1`, any: false, rotation: false, emergency: false },
      {
        name: 'upper-case variant of the stem',
        key: `${stem.toUpperCase()} run 1.1`,
        any: false,
        rotation: false,
        emergency: false,
      },
      { name: 'the stem alone', key: stem, any: false, rotation: false, emergency: false },
      { name: 'no name', key: null, any: false, rotation: false, emergency: false },
      { name: 'undefined name', key: undefined, any: false, rotation: false, emergency: false },
    ];
  it.each(cases)('$name', ({ key, any, rotation, emergency }) => {
    expect(isMintedBy(key, OWNER)).toBe(any);
    expect(isMintedBy(key, OWNER, 'rotation')).toBe(rotation);
    expect(isMintedBy(key, OWNER, 'emergency')).toBe(emergency);
  });

  it('every name it mints matches itself and no other owner', () => {
    const others: KeyOwner[] = [
      { ...OWNER, intentName: 'corpsec-2' },
      { ...OWNER, fleetId: 'flt-corpsec-macos-2' },
      { ...OWNER, repository: 'acme-corp/thoth-rotations-2' },
      { ...OWNER, intentName: 'corp' },
    ];
    for (const kind of ['rotation', 'emergency'] as const) {
      const name = mintedKeyName(OWNER, kind, RUN);
      expect(isMintedBy(name, OWNER, kind)).toBe(true);
      for (const o of others) expect(isMintedBy(name, o), `${kind} vs ${JSON.stringify(o)}`).toBe(false);
    }
  });

  it('reads a long server-supplied name (the tail pattern has no overlapping repetitions)', () => {
    expect(isMintedBy(`${stem} run ${'1'.repeat(200_000)}.${'2'.repeat(200_000)}x`, OWNER)).toBe(false);
    expect(isMintedBy(`${stem} run ${'1'.repeat(200_000)}.2`, OWNER)).toBe(true);
  });
});
