import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type SimOptions, type Simulators } from '../../sim/index.js';
import { findLeaks } from '../leak-scan.js';
import {
  intuneIntent,
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  WINDOWS_TEMPLATE,
  writeWindowsTemplates,
  type ActionRun,
} from './harness.js';

/**
 * Issue 11, path 2 ("the intent chooses which configuration value is printed"), through the
 * bundle against the simulators: a value read from an MDM configuration is shown only when the
 * control plane lists it as a key id; anything else is masked at once and reported as an
 * unrecognised value, and the rotation stops before anything is mutated (spec §9).
 */
let sims: Simulators | undefined;
afterEach(async () => {
  await sims?.close();
  sims = undefined;
});

async function start(o: SimOptions = {}): Promise<Simulators> {
  sims = await startSimulators({ fleet: { size: 6 }, ...o });
  return sims;
}

/** The Jamf intent of the simulators with an `mdm.settings` block. */
function intentWithSettings(s: Simulators, settings: Record<string, string>): string {
  const block = ['  settings:', ...Object.entries(settings).map(([k, v]) => `    ${k}: ${v}`)].join('\n');
  return jamfIntent(s).replace('    healthAttribute: Thoth Health', `    healthAttribute: Thoth Health\n${block}`);
}

async function runWith(s: Simulators, intent: string, mode: 'plan' | 'apply', event: string): Promise<ActionRun> {
  const ws = makeWorkspace();
  ws.write('.thoth/rotations/corpsec.yaml', intent);
  return runAction({ workspace: ws, inputs: simInputs(s, { mode }), env: simEnv(s, { GITHUB_EVENT_NAME: event }) });
}

/** Everything a run leaves behind that a reader sees, and every commit on any branch. */
function everywhere(s: Simulators, run: ActionRun): Record<string, string> {
  const sources: Record<string, string> = {
    stdout: run.stdout,
    stderr: run.stderr,
    summary: run.summary,
    outputs: JSON.stringify(run.outputs),
  };
  for (const c of s.github.allCommits())
    sources[`commit ${c.sha}`] = [c.message, ...(c.files ?? []).map((f) => f.text)].join('\n');
  return sources;
}

/** `value` was masked (an ::add-mask:: line) before `line` was printed, and appears nowhere else. */
function expectMaskedBefore(run: ActionRun, value: string, line: string | RegExp): void {
  const lines = run.stdout.split('\n');
  const mask = lines.indexOf(`::add-mask::${value}`);
  const said = lines.findIndex((l) => (typeof line === 'string' ? l.includes(line) : line.test(l)));
  expect(mask, 'the value is masked').toBeGreaterThanOrEqual(0);
  expect(said, 'the problem is reported').toBeGreaterThan(mask);
}

const rotationsOf = (run: ActionRun): { oldKeyId: string | null; newKeyId: string | null; state: string }[] =>
  JSON.parse(run.outputs['rotations'] ?? '[]');

describe('values read from an MDM configuration are shown only when the control plane lists them', () => {
  it('plan on a pull request with keyId: THOTH_API_KEY: the deployed key is masked, never printed, and the plan fails naming the setting', async () => {
    const s = await start();
    const plaintext = s.thoth.plaintextOf(s.ids.oldKeyId)!;
    expect(s.secrets()).toContain(plaintext);
    s.log.clear();
    const run = await runWith(
      s,
      intentWithSettings(s, { apiKey: 'UNUSED', keyId: 'THOTH_API_KEY' }),
      'plan',
      'pull_request',
    );

    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    const problem = "the configuration's THOTH_API_KEY holds a value that is not a key id of this tenant";
    expect(run.stdout).toContain(problem);
    expect(run.summary).toContain(
      'the configuration&#39;s THOTH_API_KEY holds a value that is not a key id of this tenant',
    );
    expectMaskedBefore(run, plaintext, problem);
    expect(findLeaks(everywhere(s, run), [plaintext])).toEqual([]);
    expect(rotationsOf(run)).toEqual([expect.objectContaining({ oldKeyId: null, newKeyId: null })]);
    expect(JSON.parse(run.outputs['matrix']!)).toEqual({ include: [] });
    expect(s.log.mutations()).toEqual([]);
  });

  it('plan on a pull request with revokedKeyIds: THOTH_API_KEY: masked, never printed, the plan fails naming the setting', async () => {
    const s = await start();
    const plaintext = s.thoth.plaintextOf(s.ids.oldKeyId)!;
    s.log.clear();
    const run = await runWith(
      s,
      intentWithSettings(s, { apiKey: 'UNUSED', revokedKeyIds: 'THOTH_API_KEY' }),
      'plan',
      'pull_request',
    );

    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    const problem = "the configuration's THOTH_API_KEY holds a value that is not a key id of this tenant";
    expectMaskedBefore(run, plaintext, problem);
    expect(findLeaks(everywhere(s, run), [plaintext])).toEqual([]);
    // The key-id setting still holds a key id the tenant lists: that one is shown.
    expect(rotationsOf(run)).toEqual([expect.objectContaining({ oldKeyId: s.ids.oldKeyId })]);
    expect(s.log.mutations()).toEqual([]);
  });

  it('apply (push) with keyId: THOTH_API_KEY: nothing is mutated and no evidence commit holds the key', async () => {
    const s = await start();
    const plaintext = s.thoth.plaintextOf(s.ids.oldKeyId)!;
    const keysBefore = s.thoth.keys().length;
    const commitsBefore = s.github.allCommits().length;
    s.log.clear();
    const run = await runWith(s, intentWithSettings(s, { apiKey: 'UNUSED', keyId: 'THOTH_API_KEY' }), 'apply', 'push');

    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(run.stdout).toContain(
      "preflight failed, nothing changed: the configuration's THOTH_API_KEY holds a value that is not a key id of this tenant",
    );
    expect(s.log.mutations()).toEqual([]);
    expect(s.thoth.keys()).toHaveLength(keysBefore);
    expect(s.jamf.profileVersions()).toHaveLength(1);
    expect(s.github.allCommits()).toHaveLength(commitsBefore);
    expect(findLeaks(everywhere(s, run), [plaintext])).toEqual([]);
    expect(rotationsOf(run)).toEqual([expect.objectContaining({ oldKeyId: null })]);
  });

  it('a Jamf profile whose key-id setting holds an e-mail address: masked, reported as unrecognised, never quoted', async () => {
    const s = await start();
    const email = 'security-oncall@acme.example';
    s.jamf.setPayloads(
      s.jamf.currentPayloads().replace(`<string>${s.ids.oldKeyId}</string>`, `<string>${email}</string>`),
    );
    s.log.clear();
    const run = await runWith(s, jamfIntent(s), 'plan', 'pull_request');

    expect(run.code).toBe(1);
    const problem =
      "the configuration's THOTH_API_KEY_ID holds a value that is not a key id of this tenant (acme); it is not shown";
    expectMaskedBefore(run, email, problem);
    expect(findLeaks(everywhere(s, run), [email])).toEqual([]);
    expect(rotationsOf(run)).toEqual([expect.objectContaining({ oldKeyId: null })]);
    expect(s.log.mutations()).toEqual([]);
  });

  it('a listed key id is shown and not masked (the control: masking is for unrecognised values only)', async () => {
    const s = await start();
    const run = await runWith(s, jamfIntent(s), 'plan', 'pull_request');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(rotationsOf(run)).toEqual([expect.objectContaining({ oldKeyId: s.ids.oldKeyId })]);
    expect(run.summary).toContain(s.ids.oldKeyId);
    expect(run.stdout).not.toContain(`::add-mask::${s.ids.oldKeyId}`);
  });

  it('Intune Windows: a template that swaps the key and key-id placeholders cannot print the deployed key', async () => {
    const s = await start({ fleet: { size: 4, mdm: 'intune', os: 'windows' } });
    const plaintext = s.thoth.plaintextOf(s.ids.oldKeyId)!;
    const swapped = WINDOWS_TEMPLATE.replace(
      "$ThothApiKey = '{{THOTH_API_KEY}}'",
      () => "$ThothApiKey = '{{THOTH_API_KEY_ID}}'",
    ).replace("$ThothApiKeyId = '{{THOTH_API_KEY_ID}}'", () => "$ThothApiKeyId = '{{THOTH_API_KEY}}'");
    expect(swapped).not.toBe(WINDOWS_TEMPLATE);
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', intuneIntent(s, { windows: true }));
    writeWindowsTemplates(ws, { remediation: swapped });
    s.log.clear();
    const run = await runAction({
      workspace: ws,
      inputs: simInputs(s, {
        mode: 'plan',
        'jamf-client-id': '',
        'jamf-client-secret': '',
        'azure-tenant-id': s.creds.azureTenantId,
        'azure-client-id': s.creds.azureClientId,
        'azure-client-secret': s.creds.azureClientSecret,
      }),
      env: simEnv(s, { GITHUB_EVENT_NAME: 'pull_request' }),
    });

    expect(run.code).toBe(1);
    const problem = "the configuration's {{THOTH_API_KEY_ID}} holds a value that is not a key id of this tenant";
    expectMaskedBefore(run, plaintext, problem);
    expect(findLeaks(everywhere(s, run), [plaintext])).toEqual([]);
    expect(rotationsOf(run)).toEqual([expect.objectContaining({ oldKeyId: null })]);
    expect(s.log.mutations()).toEqual([]);
  });
});

describe('the three setting names differ (spec §9)', () => {
  const cases = [
    {
      name: 'keyId: THOTH_API_KEY (the default api-key name)',
      settings: { keyId: 'THOTH_API_KEY' },
      field: 'mdm.settings.keyId',
      col: 12,
    },
    {
      name: 'revokedKeyIds: THOTH_API_KEY',
      settings: { revokedKeyIds: 'THOTH_API_KEY' },
      field: 'mdm.settings.revokedKeyIds',
      col: 20,
    },
    {
      name: 'apiKey: THOTH_API_KEY_ID (the default key-id name)',
      settings: { apiKey: 'THOTH_API_KEY_ID' },
      field: 'mdm.settings.apiKey',
      col: 13,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: a config error naming file, field, line:col and fix; zero requests`, async () => {
      const s = await start();
      const intent = intentWithSettings(s, c.settings);
      const line = intent.split('\n').findIndex((l) => l.startsWith(`    ${c.field.split('.').at(-1)}:`)) + 1;
      s.log.clear();
      const run = await runWith(s, intent, 'plan', 'pull_request');
      expect(run.code).toBe(1);
      expect(run.outputs['status']).toBe('failed');
      expect(run.stdout).toContain(
        `::error title=thoth-rotate intent ${c.field},file=.thoth/rotations/corpsec.yaml,line=${line},col=${c.col}::${c.field}: `,
      );
      expect(run.stdout).toMatch(
        new RegExp(
          `${c.field.replace(/\./g, '\\.')}: "[A-Z_]+" is also the name of mdm\\.settings\\.\\w+ \\(its default\\); the three settings must have different names \\(name the setting that holds`,
        ),
      );
      // The failure line counts the problems; the summary lists each with its place.
      expect(run.stdout).toMatch(/::error::thoth-rotate failed: \d+ configuration problems? \(see annotations\)/);
      expect(run.summary).toContain(`- .thoth/rotations/corpsec.yaml:${line}:${c.col} ${c.field}: `);
      expect(s.log.entries()).toEqual([]);
    });
  }
});
