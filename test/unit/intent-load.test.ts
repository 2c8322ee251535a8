import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { loadIntents } from '../../src/intent/load.js';
import type { Intent } from '../../src/intent/types.js';

const workspace = fileURLToPath(new URL('../..', import.meta.url));
const GOOD = 'test/fixtures/intents/good';
const sha = (rel: string): string =>
  createHash('sha256')
    .update(readFileSync(path.join(workspace, rel)))
    .digest('hex');
const settings = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
const defaultValidation = {
  windowMs: 86_400_000,
  minHealthy: 0.95,
  activeWithinMs: 604_800_000,
  timeoutMs: 1_800_000,
  pollIntervalMs: 30_000,
};

const expected: Record<string, Intent> = {
  'intune-both.yml': {
    path: `${GOOD}/intune-both.yml`,
    sha256: sha(`${GOOD}/intune-both.yml`),
    version: 1,
    name: 'corpsec-intune-canary',
    tenant: 'Acme',
    controlPlaneUrl: 'https://grid.acme.example.net',
    fleet: { id: 'flt-corpsec-win', region: 'US-East-1' },
    key: { scope: 'endpoint', endpointId: 'corpsec-mbp-naomi-nagata-01', permissions: ['execute'] },
    validation: { ...defaultValidation, minHealthy: 0.9, timeoutMs: 600_000, pollIntervalMs: 60_000 },
    mdm: {
      provider: 'intune',
      intune: {
        graphUrl: 'https://graph.microsoft.com',
        loginUrl: 'https://login.microsoftonline.com',
        groupId: '7f0c1a2b-0000-4000-8000-000000000001',
        macos: { configurationId: '9a1b2c3d-0000-4000-8000-000000000002' },
        windows: {
          remediationId: '5b2c3d4e-0000-4000-8000-000000000003',
          template: `${GOOD}/templates/thoth-key.ps1`,
          templatePath: path.join(workspace, GOOD, 'templates/thoth-key.ps1'),
          detectionTemplate: `${GOOD}/templates/thoth-detect.ps1`,
          detectionTemplatePath: path.join(workspace, GOOD, 'templates/thoth-detect.ps1'),
        },
      },
      settings: { ...settings, apiKey: 'THOTH_KEY_CANARY' },
    },
    rollback: { onValidationFailure: 'hold' },
    evidence: { path: 'audit/thoth' },
    evidencePath: 'audit/thoth/flt-corpsec-win/corpsec-intune-canary.json',
  },
  'jamf-once.yaml': {
    path: `${GOOD}/jamf-once.yaml`,
    sha256: sha(`${GOOD}/jamf-once.yaml`),
    version: 1,
    name: 'corpsec-macos-2026-12',
    ticket: 'SEC-1234',
    tenant: 'acme',
    controlPlaneUrl: 'https://grid.acme.atensecurity.com',
    fleet: { id: 'flt-corpsec-macos', region: 'us-east-1' },
    key: { scope: 'fleet', permissions: ['read', 'execute'], ttlMs: 90 * 86_400_000 },
    current: { keyId: 'key_old123' },
    window: { kind: 'once', start: new Date('2026-12-01T14:00:00Z'), end: new Date('2026-12-01T18:00:00Z') },
    validation: defaultValidation,
    mdm: {
      provider: 'jamf',
      jamf: { url: 'https://acme.jamfcloud.com', profileId: 123, groupId: 45, healthAttribute: 'Thoth Health' },
      settings,
    },
    rollback: { onValidationFailure: 'restore' },
    evidence: { path: '.thoth/evidence' },
    evidencePath: '.thoth/evidence/flt-corpsec-macos/corpsec-macos-2026-12.json',
  },
  'jamf-weekly.yaml': {
    path: `${GOOD}/jamf-weekly.yaml`,
    sha256: sha(`${GOOD}/jamf-weekly.yaml`),
    version: 1,
    name: 'corpsec-weekly',
    tenant: 'acme',
    controlPlaneUrl: 'https://grid.acme.atensecurity.com',
    fleet: { id: 'flt-corpsec-macos', region: 'eu-west-1' },
    key: { scope: 'fleet', permissions: ['read', 'write', 'execute'] },
    window: { kind: 'cron', schedule: '0 14 * * 2', durationMs: 4 * 3_600_000 },
    validation: defaultValidation,
    mdm: { provider: 'jamf', jamf: { url: 'http://127.0.0.1:8080/jamf', profileId: 7, groupId: 8 }, settings },
    rollback: { onValidationFailure: 'restore' },
    evidence: { path: '.thoth/evidence' },
    evidencePath: '.thoth/evidence/flt-corpsec-macos/corpsec-weekly.json',
  },
};

describe('good intents', () => {
  it.each(Object.keys(expected))('%s loads to the expected Intent', async (file) => {
    expect(await loadIntents(`${GOOD}/${file}`, { workspace })).toStrictEqual([expected[file]]);
  });

  it('a folder loads every *.yaml and *.yml, sorted by name, not its subfolders', async () => {
    const intents = await loadIntents(GOOD, { workspace });
    expect(intents.map((i) => i.path)).toEqual(
      Object.keys(expected)
        .sort()
        .map((f) => `${GOOD}/${f}`),
    );
  });

  it('takes an absolute path as well', async () => {
    const [intent] = await loadIntents(path.join(workspace, GOOD, 'jamf-weekly.yaml'), { workspace });
    expect(intent?.path).toBe(`${GOOD}/jamf-weekly.yaml`);
  });
});

describe('files and folders', () => {
  let dir = '';
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));
  const ws = (files: Record<string, string>): string => {
    dir = mkdtempSync(path.join(tmpdir(), 'thoth-intents-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    return dir;
  };
  const intent = (name: string, extra = ''): string =>
    `version: 1\nname: ${name}\ntenant: acme\nfleet: { id: flt-a, region: us-east-1 }\nkey: { scope: fleet, permissions: [read] }\n` +
    `mdm: { provider: jamf, jamf: { url: "https://acme.jamfcloud.com", profileId: 1, groupId: 2 } }\n${extra}`;
  const problems = async (p: string, w: string): Promise<string[]> => {
    const e = await loadIntents(p, { workspace: w }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map(formatProblem);
  };

  it('an empty folder is an error that names it and the fix', async () => {
    const w = ws({ 'rot/README.md': '# not an intent', 'rot/.hidden.yaml': intent('hidden') });
    expect(await problems('rot', w)).toEqual([
      'rot intents: contains no *.yaml or *.yml files (add an intent file to the folder, or point the intents input at another file or folder)',
    ]);
  });

  it('a missing path is an error', async () => {
    expect(await problems('.thoth/rotations', ws({}))).toEqual([
      expect.stringContaining('.thoth/rotations intents: does not exist'),
    ]);
  });

  it('skips dotfiles and other extensions, does not recurse, and sorts by name', async () => {
    const w = ws({
      'r/b.yml': intent('b'),
      'r/a.yaml': intent('a'),
      'r/.#a.yaml': 'junk',
      'r/c.json': '{}',
      'r/sub/d.yaml': 'junk',
    });
    expect((await loadIntents('r', { workspace: w })).map((i) => i.name)).toEqual(['a', 'b']);
  });

  it('the same name in two files is an error on the second', async () => {
    const w = ws({ 'r/a.yaml': intent('same'), 'r/b.yaml': intent('same') });
    expect(await problems('r', w)).toEqual([
      'r/b.yaml:2:7 name: "same" is also the name of r/a.yaml (give every intent its own name)',
    ]);
  });

  it('defaults the control plane to grid.<tenant>.<apexDomain> and accepts loopback http', async () => {
    const w = ws({
      'a.yaml': intent('a'),
      'b.yaml': intent('b', 'controlPlane: { url: "http://[::1]:8443/cp/" }\n'),
      'c.yaml': intent('c', 'controlPlane: { url: "http://localhost:9000" }\n'),
    });
    const got = await Promise.all(
      ['a', 'b', 'c'].map(async (n) => (await loadIntents(`${n}.yaml`, { workspace: w }))[0]?.controlPlaneUrl),
    );
    expect(got).toEqual(['https://grid.acme.atensecurity.com', 'http://[::1]:8443/cp', 'http://localhost:9000']);
  });

  it('rejects http to a host that only looks like loopback', async () => {
    const w = ws({ 'a.yaml': intent('a', 'controlPlane: { url: "http://127.0.0.1.nip.io" }\n') });
    expect(await problems('a.yaml', w)).toEqual([
      expect.stringContaining('controlPlane.url: http is allowed only for loopback hosts'),
    ]);
  });

  it('rejects a template that leaves the workspace through a symbolic link', async () => {
    const outside = ws({ 'secret.ps1': '{{THOTH_API_KEY}} {{THOTH_API_KEY_ID}} {{THOTH_REVOKED_API_KEY_IDS}}' });
    const w = mkdtempSync(path.join(tmpdir(), 'thoth-ws-'));
    try {
      symlinkSync(path.join(outside, 'secret.ps1'), path.join(w, 'link.ps1'));
      writeFileSync(path.join(w, 'detect.ps1'), "'{{THOTH_API_KEY_ID}}' '{{THOTH_REVOKED_API_KEY_IDS}}'");
      writeFileSync(
        path.join(w, 'i.yaml'),
        'version: 1\nname: i\ntenant: acme\nfleet: { id: f, region: r }\nkey: { scope: fleet, permissions: [read] }\n' +
          'mdm:\n  provider: intune\n  intune: { groupId: g, windows: { remediationId: r, template: link.ps1, detectionTemplate: detect.ps1 } }\n',
      );
      expect(await problems('i.yaml', w)).toEqual([
        expect.stringContaining('mdm.intune.windows.template: link.ps1 resolves outside the repository'),
      ]);
    } finally {
      rmSync(w, { recursive: true, force: true });
    }
  });
});
