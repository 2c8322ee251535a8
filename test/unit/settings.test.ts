import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { AllowedHosts } from '../../src/http/allowed-hosts.js';
import { readSettings } from '../../src/settings.js';

const INPUTS = [
  'mode',
  'intents',
  'thoth-api-key',
  'thoth-bearer-token',
  'jamf-client-id',
  'jamf-client-secret',
  'azure-tenant-id',
  'azure-client-id',
  'azure-client-secret',
  'github-token',
  'evidence-branch',
  'key-ids',
  'reason',
  'replace',
  'expose-key',
  'graph-write-budget',
  'rollback-seal-key',
  'allowed-hosts',
  'evidence-hmac-key',
];
const envName = (input: string): string => `INPUT_${input.toUpperCase()}`;

let saved: Record<string, string | undefined> = {};
let stdout: string[] = [];
beforeEach(() => {
  saved = Object.fromEntries(INPUTS.map((i) => [envName(i), process.env[envName(i)]]));
  for (const i of INPUTS) delete process.env[envName(i)];
  stdout = [];
  // core.setSecret announces masks on stdout; capture them instead of printing.
  vi.spyOn(process.stdout, 'write').mockImplementation(
    (chunk: string | Uint8Array) => (stdout.push(String(chunk)), true),
  );
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** Unique per call: secrets.ts masks each value only once per process. */
const secret = (tag: string): string => `${tag}-${randomBytes(6).toString('hex')}`;
const set = (inputs: Record<string, string>): void => {
  for (const [k, v] of Object.entries(inputs)) process.env[envName(k)] = v;
};
const problems = (): string[] => {
  try {
    readSettings();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map(formatProblem);
  }
  throw new Error('readSettings accepted the inputs');
};

describe('readSettings: accepted inputs', () => {
  it('applies the defaults of action.yml when only a credential is given', () => {
    const key = secret('key');
    set({ 'thoth-api-key': key });
    expect(readSettings()).toStrictEqual({
      mode: 'plan',
      intents: '.thoth/rotations',
      allowedHosts: AllowedHosts.parse('').hosts,
      thoth: { kind: 'api-key', value: key },
      keyIds: [],
      replace: true,
      exposeKey: false,
      graphWriteBudget: { writes: 200, windowMs: 20_000 },
    });
  });

  it('reads every input of a revoke run', () => {
    const seal = randomBytes(32);
    const mac = randomBytes(48);
    const [bearer, jamf, azure, gh] = [secret('bearer'), secret('jamf'), secret('azure'), secret('gh')];
    set({
      mode: 'revoke',
      intents: '.thoth/rotations/a.yaml',
      'thoth-bearer-token': bearer,
      'jamf-client-id': 'jid',
      'jamf-client-secret': jamf,
      'azure-tenant-id': 'contoso.onmicrosoft.com',
      'azure-client-id': '00000000-0000-4000-8000-000000000000',
      'azure-client-secret': azure,
      'github-token': gh,
      'evidence-branch': 'thoth/evidence',
      'key-ids': ' key_a, key_b\nkey_b\r\n\n org:key.c ',
      reason: 'laptop stolen, INC-42',
      replace: 'False',
      'expose-key': 'TRUE',
      'graph-write-budget': '100/10s',
      'rollback-seal-key': seal.toString('base64'),
      'allowed-hosts': 'jamf.corp.example:8443,\n *.atensecurity.com ,',
      'evidence-hmac-key': mac.toString('base64'),
    });
    const s = readSettings();
    expect(s).toStrictEqual({
      mode: 'revoke',
      intents: '.thoth/rotations/a.yaml',
      allowedHosts: AllowedHosts.parse('jamf.corp.example:8443\n*.atensecurity.com').hosts,
      thoth: { kind: 'bearer', value: bearer },
      jamf: { clientId: 'jid', clientSecret: jamf },
      azure: {
        tenantId: 'contoso.onmicrosoft.com',
        clientId: '00000000-0000-4000-8000-000000000000',
        clientSecret: azure,
      },
      githubToken: gh,
      evidenceBranch: 'thoth/evidence',
      keyIds: ['key_a', 'key_b', 'org:key.c'],
      reason: 'laptop stolen, INC-42',
      replace: false,
      exposeKey: true,
      graphWriteBudget: { writes: 100, windowMs: 10_000 },
      rollbackSealKey: seal,
      evidenceHmacKey: mac,
    });
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.allowedHosts.entries).toEqual(['jamf.corp.example:8443', '*.atensecurity.com']);
    expect(s.allowedHosts.isDefault).toBe(false);
  });

  it('reads from a given environment map', () => {
    expect(readSettings({ 'INPUT_THOTH-API-KEY': secret('k'), INPUT_MODE: 'apply' }).mode).toBe('apply');
  });
});

describe('readSettings: rejected inputs', () => {
  const key = (): Record<string, string> => ({ 'thoth-api-key': secret('key') });
  it.each<[string, () => Record<string, string>, string]>([
    [
      'an unknown mode',
      () => ({ ...key(), mode: 'deploy' }),
      'inputs mode: "deploy" is not a mode (use plan, apply, revoke or verify)',
    ],
    [
      'both credentials',
      () => ({ ...key(), 'thoth-bearer-token': secret('b') }),
      'inputs thoth-bearer-token: is set together with thoth-api-key',
    ],
    ['no credential', () => ({}), 'inputs thoth-api-key: neither thoth-api-key nor thoth-bearer-token is set'],
    [
      'a YAML 1.1 boolean',
      () => ({ ...key(), replace: 'yes' }),
      'inputs replace: "yes" is not a boolean (use true or false)',
    ],
    ['a number as boolean', () => ({ ...key(), 'expose-key': '1' }), 'inputs expose-key: "1" is not a boolean'],
    [
      'a budget without a slash',
      () => ({ ...key(), 'graph-write-budget': '200 per 20s' }),
      'inputs graph-write-budget: "200 per 20s" is not <writes>/<duration>',
    ],
    [
      'a budget of zero writes',
      () => ({ ...key(), 'graph-write-budget': '0/20s' }),
      'inputs graph-write-budget: "0/20s" is not <writes>/<duration>',
    ],
    [
      'a budget without a unit',
      () => ({ ...key(), 'graph-write-budget': '200/20' }),
      'inputs graph-write-budget: "200/20" is not <writes>/<duration>',
    ],
    [
      'a seal key that is not base64',
      () => ({ ...key(), 'rollback-seal-key': 'not base64!' }),
      'inputs rollback-seal-key: is not base64',
    ],
    [
      'an evidence-hmac-key that is not base64',
      () => ({ ...key(), 'evidence-hmac-key': 'c2VjcmV0!' }),
      'inputs evidence-hmac-key: is not base64',
    ],
    [
      'a 31-byte evidence-hmac-key',
      () => ({ ...key(), 'evidence-hmac-key': randomBytes(31).toString('base64') }),
      'inputs evidence-hmac-key: decodes to 31 bytes, fewer than 32',
    ],
    [
      'a 16-byte seal key',
      () => ({ ...key(), 'rollback-seal-key': randomBytes(16).toString('base64') }),
      'inputs rollback-seal-key: decodes to 16 bytes, not 32',
    ],
    [
      'revoke without reason',
      () => ({ ...key(), mode: 'revoke', 'key-ids': 'key_a' }),
      'inputs reason: required in revoke mode',
    ],
    [
      'revoke without key-ids',
      () => ({ ...key(), mode: 'revoke', reason: 'r', 'key-ids': ' , \n' }),
      'inputs key-ids: required in revoke mode',
    ],
    [
      'a traversal in key-ids',
      () => ({ ...key(), mode: 'revoke', reason: 'r', 'key-ids': 'key_a,../x' }),
      'inputs key-ids: "../x" is not a safe id for a URL path',
    ],
    [
      'a key id over 128 characters',
      () => ({ ...key(), mode: 'revoke', reason: 'r', 'key-ids': 'k'.repeat(129) }),
      'is 129 characters long (at most 128)',
    ],
    [
      'a reason over 1000 characters',
      () => ({ ...key(), mode: 'revoke', 'key-ids': 'key_a', reason: 'x'.repeat(1001) }),
      'inputs reason: is 1001 characters long',
    ],
    [
      'key-ids outside revoke',
      () => ({ ...key(), mode: 'apply', 'key-ids': 'key_a' }),
      'inputs key-ids: is only used in revoke mode, not apply (remove key-ids, or set mode: revoke)',
    ],
    [
      'reason outside revoke',
      () => ({ ...key(), reason: 'because' }),
      'inputs reason: is only used in revoke mode, not plan',
    ],
    [
      'a jamf id without secret',
      () => ({ ...key(), 'jamf-client-id': 'jid' }),
      'inputs jamf-client-secret: is empty but jamf-client-id is set',
    ],
    [
      'two of three azure inputs',
      () => ({ ...key(), 'azure-tenant-id': 't', 'azure-client-secret': secret('a') }),
      'inputs azure-client-id: is empty but azure-tenant-id and azure-client-secret are set',
    ],
    [
      'an azure tenant with a slash',
      () => ({ ...key(), 'azure-tenant-id': 'a/b', 'azure-client-id': 'c', 'azure-client-secret': secret('a') }),
      'inputs azure-tenant-id: "a/b" is not an Entra id',
    ],
    [
      'a bad evidence branch',
      () => ({ ...key(), 'evidence-branch': 'feature..x' }),
      'inputs evidence-branch: "feature..x" is not a valid branch name',
    ],
    [
      'an absolute intents path',
      () => ({ ...key(), intents: '/etc/thoth' }),
      'inputs intents: "/etc/thoth" is not repository-relative',
    ],
    [
      'an intents path that leaves the repository',
      () => ({ ...key(), intents: '.thoth/../../other' }),
      'inputs intents: ".thoth/../../other" leaves the repository through ".."',
    ],
    [
      'a URL in allowed-hosts',
      () => ({ ...key(), 'allowed-hosts': 'https://jamf.corp.example:8443/' }),
      'inputs allowed-hosts: "https://jamf.corp.example:8443/" is a URL, not a host (write only the host (and port), e.g. jamf.corp.example:8443)',
    ],
    [
      'a port out of range in allowed-hosts',
      () => ({ ...key(), 'allowed-hosts': 'a.example:70000' }),
      'inputs allowed-hosts: "a.example:70000" has a port that is not a number from 1 to 65535',
    ],
  ])('%s', (_name, inputs, message) => {
    set(inputs());
    expect(problems()).toContainEqual(expect.stringContaining(message));
  });

  it('explains that forks and Dependabot get no secrets when no credential is set', () => {
    expect(problems()[0]).toMatch(/fork.*Dependabot/);
  });

  it('collects every problem into one error', () => {
    set({ mode: 'revoke', 'expose-key': 'maybe', 'graph-write-budget': 'lots' });
    expect(problems().map((p) => p.split(':')[0])).toEqual([
      'inputs thoth-api-key',
      'inputs expose-key',
      'inputs graph-write-budget',
      'inputs key-ids',
      'inputs reason',
    ]);
  });

  it('masks every secret input before any check can throw, and never echoes one', () => {
    const values = {
      'thoth-api-key': secret('k'),
      'thoth-bearer-token': secret('b'),
      'jamf-client-secret': secret('j'),
      'azure-client-secret': secret('a'),
      'github-token': secret('g'),
      'rollback-seal-key': secret('seal'),
      'evidence-hmac-key': secret('hmac'),
    };
    set(values);
    const message = problems().join('\n');
    for (const v of Object.values(values)) {
      expect(stdout.join('')).toContain(`::add-mask::${v}`);
      expect(message).not.toContain(v);
    }
  });
});
