import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { AllowedHosts } from '../../src/http/allowed-hosts.js';
import type { Intent } from '../../src/intent/types.js';
import { checkRunConfig } from '../../src/run-config.js';
import type { Settings } from '../../src/settings.js';

const settings = (over: Partial<Settings> = {}): Settings => ({
  mode: 'plan',
  intents: '.thoth/rotations',
  allowedHosts: AllowedHosts.parse('').hosts,
  thoth: { kind: 'api-key', value: 'k' },
  keyIds: [],
  replace: true,
  exposeKey: false,
  graphWriteBudget: { writes: 200, windowMs: 20_000 },
  ...over,
});
const intent = (name: string, provider: 'jamf' | 'intune', withWindow = true): Intent => ({
  path: `.thoth/rotations/${name}.yaml`,
  sha256: '0'.repeat(64),
  version: 1,
  name,
  tenant: 'acme',
  controlPlaneUrl: 'https://grid.acme.atensecurity.com',
  fleet: { id: 'f', region: 'us-east-1' },
  key: { scope: 'fleet', permissions: ['read'] },
  ...(withWindow ? { window: { kind: 'cron' as const, schedule: '0 14 * * 2', durationMs: 3_600_000 } } : {}),
  validation: { windowMs: 1, minHealthy: 0.95, activeWithinMs: 1, timeoutMs: 1, pollIntervalMs: 1 },
  mdm: { provider, settings: { domain: 'd.e', apiKey: 'A', keyId: 'B', revokedKeyIds: 'C' } },
  rollback: { onValidationFailure: 'restore' },
  evidence: { path: '.thoth/evidence' },
  evidencePath: `.thoth/evidence/f/${name}.json`,
});
const problems = (s: Settings, intents: Intent[], mode?: Settings['mode']): string[] => {
  try {
    checkRunConfig(s, intents, mode);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map(formatProblem);
  }
};
const jamf = { clientId: 'id', clientSecret: 's' };
const azure = { tenantId: 't', clientId: 'c', clientSecret: 's' };

describe('checkRunConfig', () => {
  it.each<[string, Settings, Intent[], string[]]>([
    [
      'a plan with the credentials its intents need',
      settings({ jamf, azure }),
      [intent('a', 'jamf'), intent('b', 'intune', false)],
      [],
    ],
    [
      'jamf intents without jamf inputs',
      settings(),
      [intent('a', 'jamf'), intent('b', 'jamf')],
      [
        'inputs jamf-client-id: jamf-client-id and jamf-client-secret are not set, but these intents use mdm.provider jamf: .thoth/rotations/a.yaml, .thoth/rotations/b.yaml',
      ],
    ],
    [
      'an intune intent without azure inputs',
      settings({ jamf }),
      [intent('a', 'jamf'), intent('b', 'intune')],
      [
        'inputs azure-tenant-id: azure-tenant-id, azure-client-id and azure-client-secret are not set, but this intent uses mdm.provider intune: .thoth/rotations/b.yaml',
      ],
    ],
    [
      'apply without a window and without a token',
      settings({ mode: 'apply', jamf }),
      [intent('a', 'jamf', false), intent('b', 'jamf')],
      [
        '.thoth/rotations/a.yaml window: required in apply mode',
        'inputs github-token: required in apply mode, to commit evidence',
      ],
    ],
    [
      'revoke without a token',
      settings({ mode: 'revoke', jamf, keyIds: ['k'], reason: 'r' }),
      [intent('a', 'jamf', false)],
      ['inputs github-token: required in revoke mode'],
    ],
    ['apply with everything', settings({ mode: 'apply', jamf, githubToken: 'g' }), [intent('a', 'jamf')], []],
  ])('%s', (_name, s, intents, expected) => {
    const got = problems(s, intents);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(got[i]).toContain(e));
  });

  it('checks the mode that will actually run (apply downgraded to plan on pull requests)', () => {
    expect(problems(settings({ mode: 'apply', jamf }), [intent('a', 'jamf', false)], 'plan')).toEqual([]);
  });
});
