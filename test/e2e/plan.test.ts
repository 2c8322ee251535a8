import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { findLeaks } from '../leak-scan.js';
import { jamfIntent, makeWorkspace, runAction, simEnv, simInputs } from './harness.js';

describe('plan through dist/index.js', () => {
  let sims: Simulators;
  beforeAll(async () => {
    sims = await startSimulators({ fleet: { size: 20, offline: 2, stuck: 1, inactive: 1 } });
  });
  afterAll(async () => sims.close());

  it('reads every system, mutates none, and reports the plan', async () => {
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims));
    sims.log.clear();
    const run = await runAction({ workspace: ws, inputs: simInputs(sims), env: simEnv(sims) });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['status']).toBe('planned');
    const rotations = JSON.parse(run.outputs['rotations']!);
    expect(rotations).toEqual([
      {
        name: 'corpsec-macos-2026-12',
        fleet: sims.ids.fleetId,
        state: 'pending',
        newKeyId: null,
        oldKeyId: sims.ids.oldKeyId,
        evidencePath: `.thoth/evidence/${sims.ids.fleetId}/corpsec-macos-2026-12.json`,
      },
    ]);
    expect(JSON.parse(run.outputs['matrix']!)).toEqual({
      include: [{ intent: '.thoth/rotations/corpsec.yaml', fleet: sims.ids.fleetId }],
    });
    expect(run.summary).toContain('would create a fleet key (read, execute)');
    expect(run.summary).toContain('20 device(s) in the group');
    expect(sims.log.mutations()).toEqual([]);
    const systems = new Set(sims.log.entries().map((e) => e.system));
    expect([...systems].sort()).toEqual(['github', 'jamf', 'thoth']);
    expect(
      findLeaks(
        { stdout: run.stdout, stderr: run.stderr, summary: run.summary, outputs: JSON.stringify(run.outputs) },
        sims.secrets(),
      ),
    ).toEqual([]);
  });

  it('apply on a pull_request event behaves as plan and says so', async () => {
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims));
    sims.log.clear();
    const run = await runAction({
      workspace: ws,
      inputs: simInputs(sims, { mode: 'apply' }),
      env: simEnv(sims, { GITHUB_EVENT_NAME: 'pull_request' }),
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs['status']).toBe('planned');
    expect(run.summary).toContain('ran plan instead');
    expect(sims.log.mutations()).toEqual([]);
  });

  it('reports a region mismatch as a failed plan without mutating', async () => {
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(sims, { region: 'us-west-2' }));
    sims.log.clear();
    const run = await runAction({ workspace: ws, inputs: simInputs(sims), env: simEnv(sims) });
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(run.stdout).toContain('is in region us-east-1, the intent says us-west-2');
    expect(sims.log.mutations()).toEqual([]);
  });

  it('rejects bad inputs before any request', async () => {
    const ws = makeWorkspace();
    ws.write(
      '.thoth/rotations/corpsec.yaml',
      jamfIntent(sims).replace('permissions: [read, execute]', 'permissions: [read, admin]'),
    );
    sims.log.clear();
    const run = await runAction({
      workspace: ws,
      inputs: simInputs(sims, { 'thoth-bearer-token': 'also-set-bearer-token' }),
      env: simEnv(sims),
    });
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    expect(run.stdout).toMatch(/key\.permissions\[1\]/);
    expect(run.stdout).toMatch(/thoth-bearer-token|thoth-api-key/);
    expect(sims.log.entries()).toEqual([]);
  });
});
