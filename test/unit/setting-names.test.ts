import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { loadIntents } from '../../src/intent/load.js';

/** A valid Jamf intent whose mdm.settings block is `settings` (YAML lines, 4-space indented). */
const intent = (settings: string[]): string =>
  [
    'version: 1',
    'name: names-rule',
    'tenant: acme',
    'fleet:',
    '  id: flt-a',
    '  region: us-east-1',
    'key:',
    '  scope: fleet',
    '  permissions: [read, execute]',
    'mdm:',
    '  provider: jamf',
    '  jamf:',
    '    url: https://acme.jamfcloud.com',
    '    profileId: 1',
    '    groupId: 2',
    ...(settings.length ? ['  settings:', ...settings.map((l) => `    ${l}`)] : []),
    '',
  ].join('\n');

async function problems(settings: string[]): Promise<string[]> {
  const ws = mkdtempSync(path.join(tmpdir(), 'thoth-names-'));
  writeFileSync(path.join(ws, 'i.yaml'), intent(settings));
  try {
    await loadIntents('i.yaml', { workspace: ws });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map(formatProblem);
  }
}

describe('mdm.settings: the three setting names differ (spec §9)', () => {
  it('different names, and the defaults, load', async () => {
    expect(await problems([])).toEqual([]);
    expect(await problems(['apiKey: UNUSED', 'keyId: THOTH_API_KEY_ID'])).toEqual([]);
    expect(await problems(['apiKey: K', 'keyId: ID', 'revokedKeyIds: REV', 'domain: com.example.app'])).toEqual([]);
  });

  const cases: { name: string; settings: string[]; expected: string[] }[] = [
    {
      name: 'keyId set to the default api-key name: at keyId, naming apiKey as a default',
      settings: ['keyId: THOTH_API_KEY'],
      expected: [
        'i.yaml:17:12 mdm.settings.keyId: "THOTH_API_KEY" is also the name of mdm.settings.apiKey (its default); the three settings must have different names (name the setting that holds the key id (default THOTH_API_KEY_ID), different from apiKey, keyId and revokedKeyIds)',
      ],
    },
    {
      name: 'revokedKeyIds set to the default api-key name',
      settings: ['revokedKeyIds: THOTH_API_KEY'],
      expected: [
        expect.stringMatching(
          /^i\.yaml:17:20 mdm\.settings\.revokedKeyIds: "THOTH_API_KEY" is also the name of mdm\.settings\.apiKey \(its default\)/,
        ),
      ],
    },
    {
      name: 'apiKey set to the default key-id name: reported at apiKey, the name the file sets',
      settings: ['apiKey: THOTH_API_KEY_ID'],
      expected: [
        expect.stringMatching(
          /^i\.yaml:17:13 mdm\.settings\.apiKey: "THOTH_API_KEY_ID" is also the name of mdm\.settings\.keyId \(its default\).*holds the api key/,
        ),
      ],
    },
    {
      name: 'two names set equal: at the later one, no "(its default)"',
      settings: ['apiKey: SAME', 'keyId: SAME'],
      expected: [
        expect.stringMatching(
          /^i\.yaml:18:12 mdm\.settings\.keyId: "SAME" is also the name of mdm\.settings\.apiKey; /,
        ),
      ],
    },
    {
      name: 'names differing only in case',
      settings: ['apiKey: UNUSED', 'keyId: thoth_api_key_id', 'revokedKeyIds: THOTH_API_KEY_ID'],
      expected: [
        expect.stringMatching(
          /^i\.yaml:19:20 mdm\.settings\.revokedKeyIds: "THOTH_API_KEY_ID" is also the name of mdm\.settings\.keyId;/,
        ),
      ],
    },
    {
      name: 'all three equal: two findings',
      settings: ['apiKey: X', 'keyId: X', 'revokedKeyIds: X'],
      expected: [
        expect.stringMatching(/mdm\.settings\.keyId: "X" is also the name of mdm\.settings\.apiKey;/),
        expect.stringMatching(/mdm\.settings\.revokedKeyIds: "X" is also the name of mdm\.settings\.apiKey;/),
      ],
    },
  ];
  it.each(cases)('$name', async ({ settings, expected }) => {
    expect(await problems(settings)).toEqual(expected);
  });
});
