/**
 * Masking tested where it happens (issue 13): the bundle registers every encoded form of every
 * secret it holds with `::add-mask::`, and what the runner would show a user (masks applied,
 * sim/runner.ts maskedView) holds none of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { secretVariants } from '../leak-scan.js';
import { jamfIntent, makeWorkspace, maskedView, runAction, simEnv, simInputs } from './harness.js';

let sims: Simulators | undefined;
afterEach(async () => {
  await sims?.close();
  sims = undefined;
});

describe('masking', () => {
  it('every encoded form of the credentials and of the minted key is registered, and the runner view shows none', async () => {
    const s = (sims = await startSimulators({ fleet: { size: 3 } }));
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s));
    const run = await runAction({ workspace: ws, inputs: simInputs(s, { mode: 'apply' }), env: simEnv(s) });
    expect(run.outputs['status'], run.stdout).toBe('in-progress');
    const minted = s.journal.created.map((c) => s.thoth.plaintextOf(c.keyId)!);
    expect(minted).toHaveLength(1);
    const view = maskedView(run);
    const masks = new Set(view.masks);
    for (const secret of [s.creds.orgApiKey, s.creds.jamfClientSecret, s.creds.githubToken, ...minted]) {
      for (const form of secretVariants(secret).filter((f) => f.length >= 4)) {
        expect(masks.has(form), `::add-mask:: for a form of ${secret.slice(0, 6)}…: ${form.slice(0, 8)}…`).toBe(true);
        expect(view.stdout.includes(form) || view.stderr.includes(form)).toBe(false);
      }
    }
  });

  it('the runner view replaces a registered value in every later line, and only after its add-mask line', () => {
    const run = {
      stdout: [
        'before s3cr3t-value',
        '::add-mask::s3cr3t-value',
        'after s3cr3t-value',
        '::add-mask::pa%25ss',
        'x pa%ss y',
      ].join('\n'),
      stderr: 'err s3cr3t-value',
    };
    const v = maskedView(run);
    expect(v.masks).toEqual(['s3cr3t-value', 'pa%ss']);
    expect(v.stdout.split('\n')).toEqual(['before s3cr3t-value', 'after ***', 'x *** y']);
    expect(v.stderr).toBe('err ***');
  });
});
