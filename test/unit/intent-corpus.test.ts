import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { loadIntents } from '../../src/intent/load.js';

/**
 * The bad-intent corpus: one file per rule, each mapped to the start of the
 * message it must produce (`file:line:col field: problem`, or `file (file): …`
 * for a problem with the whole file).
 */
const workspace = fileURLToPath(new URL('../..', import.meta.url));
const BAD = 'test/fixtures/intents/bad';

const corpus: ReadonlyArray<readonly [file: string, where: string, message: string]> = [
  // YAML and file-level
  [
    'malformed-yaml',
    ':10:1 (file)',
    'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ],
  ['alias-bomb', ' (file)', 'expands YAML aliases more than 16 times, like an alias bomb'],
  ['too-big', ' (file)', 'is 67986 bytes, over the 64 KiB limit'],
  ['duplicate-key', ':7:3 fleet.id', 'duplicate key'],
  ['not-a-map', ' (file)', 'is a list, not a map'],
  ['empty', ' (file)', 'is empty, not a map'],
  ['scalar', ' (file)', 'is a string ("just a string"), not a map'],
  ['multi-doc', ':16:1 (file)', 'holds more than one YAML document'],
  ['bad-utf8', ' (file)', 'is not valid UTF-8'],
  ['yaml-1-1', ' (file)', 'declares YAML 1.1 (remove the %YAML directive'],
  // shape and types
  ['unknown-key', ':6:3 fleet.regoin', 'unknown key (remove it; did you mean "region"?)'],
  ['unknown-top-key', ':4:1 owner', 'unknown key (remove it; allowed here: version, name, ticket'],
  ['proto-key', ':7:1 __proto__', 'unknown key'],
  ['wrong-type', ':14:16 mdm.jamf.profileId', 'expected a number, got a string ("abc")'],
  ['version-string', ':1:10 version', 'expected a number, got a string ("1")'],
  [
    'fleet-id-number',
    ':5:7 fleet.id',
    "expected a string, got a number (1234) (set fleet.id to the fleet's id, e.g. flt-corpsec-macos, in quotes",
  ],
  [
    'missing-region',
    ':5:3 fleet.region',
    "required (set fleet.region to the fleet's control-plane region, e.g. us-east-1)",
  ],
  ['null-value', ':3:8 tenant', 'expected a string, got an empty value'],
  ['version-2', ':1:10 version', '2 is not a supported version (set version: 1'],
  ['name-uppercase', ':2:7 name', '"Corp-Rotation" is not a valid name (use 1-63 lower-case letters'],
  ['name-too-long', ':2:7 name', 'is 64 characters long (at most 63)'],
  // ids that go into URL paths
  ['tenant-traversal', ':3:9 tenant', '"../x" is not a safe id for a URL path'],
  ['fleet-id-slash', ':5:7 fleet.id', '"a/b" is not a safe id for a URL path'],
  ['key-id-percent', ':11:10 current.keyId', '"%2e%2e" is not a safe id for a URL path'],
  ['endpoint-id-bad', ':9:15 key.endpointId', '"Corp_MBP" is not a safe id for a URL path'],
  ['jamf-id-negative', ':15:14 mdm.jamf.groupId', '-2 is not a positive integer'],
  ['tenant-not-dns-label', ':3:9 tenant', '"acme_corp" cannot be a host name label in the default control-plane URL'],
  // URLs
  ['http-public', ':13:10 mdm.jamf.url', 'http is allowed only for loopback hosts (use https://acme.jamfcloud.com)'],
  [
    'intune-http-graph',
    ':9:15 mdm.intune.graphUrl',
    'http is allowed only for loopback hosts (use https://graph.microsoft.com)',
  ],
  ['url-credentials', ':5:8 controlPlane.url', 'contains credentials (remove the user:password@ part'],
  ['url-query', ':13:10 mdm.jamf.url', 'must not have a query or fragment'],
  ['url-scheme', ':13:10 mdm.jamf.url', '"ftp:" is not an allowed scheme (use https://acme.jamfcloud.com)'],
  ['bad-apex-domain', ':5:15 controlPlane.apexDomain', '"https://atensecurity.com" is not a domain name'],
  // durations, shares, windows
  [
    'bad-duration',
    ':10:8 key.ttl',
    '"90 days" is not a duration (write a positive whole number followed by ms, s, m, h or d',
  ],
  ['zero-duration', ':11:11 validation.window', '"0s" is zero'],
  ['negative-duration', ':11:17 validation.activeWithin', '"-7d" is negative'],
  ['poll-over-timeout', ':12:17 validation.pollInterval', '5m is longer than validation.timeout (1m)'],
  ['min-healthy-zero', ':11:15 validation.minHealthy', '"0%" is not above 0%'],
  ['min-healthy-150', ':11:15 validation.minHealthy', '"150%" is more than 100%'],
  ['min-healthy-number', ':11:15 validation.minHealthy', '95 is not a fraction between 0 and 1; did you mean 95%?'],
  [
    'window-end-before-start',
    ':12:8 window.end',
    '2026-12-01T14:00:00.000Z is not after window.start (2026-12-01T18:00:00.000Z)',
  ],
  ['window-mixed', ':13:3 window.schedule', 'cannot be combined with window.start'],
  ['window-start-only', ':11:3 window.end', 'required together with window.start'],
  ['window-no-zone', ':11:10 window.start', '"2026-12-01T14:00:00" is not an ISO-8601 time with a time zone'],
  ['window-impossible-date', ':11:10 window.start', '"2026-02-30T14:00:00Z" is not an ISO-8601 time with a time zone'],
  [
    'bad-cron',
    ':11:13 window.schedule',
    '"0 25 * * *" is not a valid cron expression: Constraint error, got value 25 expected range 0-23',
  ],
  ['cron-six-fields', ':11:13 window.schedule', '"0 0 14 * * 2" has 6 fields; a schedule has exactly 5'],
  // recurrence (spec §10)
  ['recurrence-empty', ':13:13 recurrence', 'has neither every nor before (set recurrence.every'],
  [
    'recurrence-once-window',
    ':11:3 window.start',
    'is a one-off window, which a recurring intent (recurrence) cannot use',
  ],
  ['recurrence-bad-every', ':14:10 recurrence.every', '"3 months" is not a duration'],
  // key
  ['empty-permissions', ':9:16 key.permissions', 'is empty (list at least one of read, write, execute'],
  ['duplicate-permission', ':9:23 key.permissions[1]', '"read" is listed twice'],
  ['bad-permission', ':9:23 key.permissions[1]', '"admin" is not a permission (use read, write or execute)'],
  ['bad-scope', ':8:10 key.scope', '"organization" is not a key scope (use fleet or endpoint)'],
  ['endpoint-without-id', ':8:3 key.endpointId', 'required when key.scope is endpoint'],
  ['fleet-with-endpoint-id', ':9:3 key.endpointId', 'is only allowed when key.scope is endpoint'],
  // mdm
  ['bad-provider', ':11:13 mdm.provider', '"kandji" is not an MDM provider (use jamf or intune)'],
  [
    'jamf-without-block',
    ':7:3 mdm.jamf',
    'required when mdm.provider is jamf (add mdm.jamf: a map with url, profileId and groupId)',
  ],
  [
    'jamf-with-intune',
    ':16:3 mdm.intune',
    'is not allowed when mdm.provider is jamf (remove mdm.intune, or set mdm.provider: intune)',
  ],
  ['intune-no-platform', ':9:5 mdm.intune', 'has neither macos nor windows'],
  [
    'template-missing-placeholders',
    ':12:17 mdm.intune.windows.template',
    'test/fixtures/intents/bad/templates/partial.ps1 lacks {{THOTH_API_KEY_ID}}, {{THOTH_REVOKED_API_KEY_IDS}}',
  ],
  ['template-escape', ':12:17 mdm.intune.windows.template', '"../../../etc/passwd" leaves the repository through ".."'],
  ['template-absolute', ':12:17 mdm.intune.windows.template', '"/etc/passwd" is not repository-relative'],
  [
    'template-not-found',
    ':12:17 mdm.intune.windows.template',
    '.thoth/templates/nope.ps1 does not exist in the repository',
  ],
  [
    'detection-template-missing',
    ':11:7 mdm.intune.windows.detectionTemplate',
    'required (set mdm.intune.windows.detectionTemplate to the repository path of the detection script template, e.g. .thoth/templates/thoth-detect.ps1 (Intune runs the remediation script only when the detection script exits 1))',
  ],
  [
    'detection-template-with-key',
    ':13:26 mdm.intune.windows.detectionTemplate',
    'test/fixtures/intents/bad/templates/detect-with-key.ps1 holds {{THOTH_API_KEY}} (remove it: the detection script needs only the key id and the revoked ids',
  ],
  [
    'detection-template-no-ids',
    ':13:26 mdm.intune.windows.detectionTemplate',
    'test/fixtures/intents/bad/templates/detect-no-ids.ps1 lacks {{THOTH_API_KEY_ID}}, {{THOTH_REVOKED_API_KEY_IDS}} (put both where the detection script compares',
  ],
  ['bad-setting-name', ':17:13 mdm.settings.apiKey', '"1BAD KEY" is not a valid setting name'],
  ['bad-settings-domain', ':17:13 mdm.settings.domain', '"thoth" is not a reverse-DNS preference domain'],
  ['setting-names-clash', ':17:12 mdm.settings.keyId', '"THOTH_API_KEY" is also the name of mdm.settings.apiKey'],
  // rollback, evidence
  ['bad-rollback', ':17:24 rollback.onValidationFailure', '"ignore" is not a rollback action (use restore or hold)'],
  ['evidence-traversal', ':17:9 evidence.path', '"../elsewhere" leaves the repository through ".."'],
  ['evidence-absolute', ':17:9 evidence.path', '"/var/evidence" is not repository-relative'],
  // several problems in one file
  ['three-problems', ':9:23 key.permissions[1]', '"admin" is not a permission'],
];

async function problemsOf(file: string): Promise<string[]> {
  try {
    await loadIntents(file, { workspace });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map(formatProblem);
  }
  throw new Error(`${file} loaded without a problem`);
}

const fileOf = (name: string): string => {
  const ext = readdirSync(fileURLToPath(new URL(`../../${BAD}`, import.meta.url))).find(
    (f) => f.replace(/\.ya?ml$/, '') === name,
  );
  return `${BAD}/${ext ?? `${name}.yaml`}`;
};

describe('bad intent corpus', () => {
  it.each(corpus)('%s', async (name, where, message) => {
    const file = fileOf(name);
    expect(await problemsOf(file)).toContainEqual(expect.stringContaining(`${file}${where}: ${message}`));
  });

  it('has a row for every file in the corpus, and at least 25 files', () => {
    const files = readdirSync(fileURLToPath(new URL(`../../${BAD}`, import.meta.url))).filter((f) =>
      /\.ya?ml$/.test(f),
    );
    expect(files.length).toBeGreaterThanOrEqual(25);
    expect(files.map((f) => f.replace(/\.ya?ml$/, '')).sort()).toEqual(corpus.map(([n]) => n).sort());
  });

  it('reports all three problems of one file in one error', async () => {
    const file = `${BAD}/three-problems.yaml`;
    expect(await problemsOf(file)).toEqual([
      `${file}:5:3 fleet.region: required (set fleet.region to the fleet's control-plane region, e.g. us-east-1)`,
      `${file}:6:3 fleet.regoin: unknown key (remove it; did you mean "region"?)`,
      `${file}:9:23 key.permissions[1]: "admin" is not a permission (use read, write or execute)`,
    ]);
  });

  it('reports every problem of every file of a folder in one ConfigError', async () => {
    const all = await problemsOf(BAD);
    for (const [name, where, message] of corpus) {
      expect(all).toContainEqual(expect.stringContaining(`${fileOf(name)}${where}: ${message}`));
    }
  });

  it('never echoes the password of a URL', async () => {
    const all = await problemsOf(`${BAD}/url-credentials.yaml`);
    expect(all.join('\n')).not.toContain('hunter2');
  });
});
