import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startSimulators, type SimOptions } from '../../sim/index.js';
import { readManagedSettings } from '../mdm-values.js';
import { mintedKeys, readEvidence } from './evidence.js';
import {
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type JamfIntentOptions,
  closeAfterAll,
} from './harness.js';

const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
// The cases run concurrently, each on its own simulators; every set is closed when the file is done.
const track = closeAfterAll();

async function setup(opts: SimOptions, intent: JamfIntentOptions = {}) {
  const sims = track(await startSimulators(opts));
  const ws = makeWorkspace();
  ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims, intent));
  const s = sims;
  const apply = (
    inputs: Record<string, string> = {},
    env: Record<string, string> = {},
    killWhen?: (out: string) => boolean,
  ) =>
    runAction({
      workspace: ws,
      inputs: simInputs(s, { mode: 'apply', ...inputs }),
      env: simEnv(s, env),
      ...(killWhen ? { killWhen } : {}),
    });
  return { s, apply };
}

describe.concurrent('apply through Jamf: edges', () => {
  it('outside the window: waits, commits nothing, exits 0', async () => {
    const { s, apply } = await setup(
      { fleet: { size: 4 } },
      { window: 'window:\n  start: 2030-01-01T00:00:00Z\n  end: 2030-01-01T04:00:00Z' },
    );
    const run = await apply();
    expect(run.code).toBe(0);
    expect(run.outputs['status']).toBe('unchanged');
    expect(run.summary).toContain('waiting for window (opens 2030-01-01 00:00 UTC (in ');
    expect(s.log.mutations()).toEqual([]);
    expect(readEvidence(s)).toBeUndefined();
  });

  it('a cron window that is open now starts the rotation', async () => {
    const { s, apply } = await setup(
      { fleet: { size: 4 } },
      { window: 'window:\n  schedule: "* * * * *"\n  duration: 5m' },
    );
    const run = await apply();
    expect(run.code, run.stdout).toBe(0);
    expect(readEvidence(s)!.state).toBe('awaiting-revocation');
  });

  it('expose-key sets the masked api-key output to the minted key', async () => {
    const { s, apply } = await setup({ fleet: { size: 4 } });
    const run = await apply({ 'expose-key': 'true' });
    expect(run.code).toBe(0);
    const key = mintedKeys(s)[0]!;
    expect(run.outputs['api-key']).toBe(s.thoth.plaintextOf(key.id));
    const mask = run.stdout.indexOf(`::add-mask::${run.outputs['api-key']}`);
    expect(mask).toBeGreaterThanOrEqual(0);
    // Masked the moment it existed: before the run reported the key's creation (and so before the
    // output was set, at the end of the run), and the plaintext is on no other line.
    const created = run.stdout.indexOf('create-key: ok');
    expect(created).toBeGreaterThan(mask);
    expect(
      run.stdout.split('\n').filter((l) => l.includes(run.outputs['api-key']!) && !l.startsWith('::add-mask::')),
    ).toEqual([]);
  });

  it('a protected evidence branch fails before any key is minted, naming the fix', async () => {
    const { s, apply } = await setup({ fleet: { size: 4 }, github: { protectedBranch: true } });
    const run = await apply();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/refuses direct commits.*evidence-branch/);
    expect(mintedKeys(s)).toEqual([]);
    expect(s.log.mutations().filter((m) => m.system !== 'github')).toEqual([]);
  });

  it('with rollback-seal-key a later run restores the sealed snapshot when validation fails', async () => {
    const sealKey = randomBytes(32).toString('base64');
    const { s, apply } = await setup(
      { fleet: { size: 6, stuck: 6 } },
      { validation: 'validation:\n  window: 1h\n  minHealthy: 90%\n  timeout: 3s\n  pollInterval: 300ms' },
    );
    const before = s.jamf.profileVersions().at(-1)!;
    const env = { GITHUB_RUN_ID: '4242' };
    const killed = await apply({ 'rollback-seal-key': sealKey }, env, (out) =>
      out.includes('evidence: state refreshed'),
    );
    expect(killed.signal).toBe('SIGKILL');
    const rec = readEvidence(s)!;
    expect(rec.state).toBe('refreshed');
    expect(rec.rollbackSeal?.alg).toBe('AES-256-GCM');
    expect(JSON.stringify(rec)).not.toContain(readManagedSettings(before, NAMES).apiKey!);
    const resumed = await apply({ 'rollback-seal-key': sealKey }, { ...env, GITHUB_RUN_ATTEMPT: '2' });
    expect(resumed.code).toBe(1);
    expect(resumed.outputs['status']).toBe('rolled-back');
    expect(s.jamf.profileVersions().at(-1)).toBe(before);
    expect(mintedKeys(s).every((k) => !k.active)).toBe(true);
  });

  it('without the seal key the resumed run cannot restore and holds both keys', async () => {
    const { s, apply } = await setup(
      { fleet: { size: 6, stuck: 6 } },
      { validation: 'validation:\n  window: 1h\n  minHealthy: 90%\n  timeout: 3s\n  pollInterval: 300ms' },
    );
    const env = { GITHUB_RUN_ID: '4343' };
    await apply({}, env, (out) => out.includes('evidence: state refreshed'));
    const resumed = await apply({}, { ...env, GITHUB_RUN_ATTEMPT: '2' });
    expect(resumed.code).toBe(1);
    expect(resumed.summary).toContain('set rollback-seal-key');
    const active = mintedKeys(s).filter((k) => k.active);
    expect(active).toHaveLength(1);
    expect(s.thoth.keys().find((k) => k.id === s.ids.oldKeyId)!.active).toBe(true);
  });

  it('reports identity drift and still validates', async () => {
    const { s, apply } = await setup({ fleet: { size: 10, drift: 2 } });
    const run = await apply();
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toMatch(/Warnings/);
    expect(readEvidence(s)!.events.some((e) => e.step === 'identity-drift')).toBe(true);
  });

  it('re-mints an expiring Jamf token during a long validation, and works with a static group', async () => {
    const { s, apply } = await setup(
      { fleet: { size: 6, checkInDelayMs: [1500, 2500] }, jamf: { tokenTtlSeconds: 1, staticGroup: true } },
      { validation: 'validation:\n  window: 1h\n  minHealthy: 90%\n  timeout: 8s\n  pollInterval: 300ms' },
    );
    const run = await apply();
    expect(run.code, run.stdout).toBe(0);
    expect(readEvidence(s)!.state).toBe('awaiting-revocation');
    const tokens = s.log.entries().filter((e) => e.path === '/api/v1/oauth/token');
    expect(tokens.length).toBeGreaterThan(1);
    expect(s.log.entries().filter((e) => e.system === 'jamf' && e.status === 401)).toEqual([]);
  });
});
