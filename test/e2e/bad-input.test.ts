import { cpSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { jamfIntent, makeWorkspace, runAction, simEnv, simInputs } from './harness.js';

const BAD = path.resolve(import.meta.dirname, '../fixtures/intents/bad');

/**
 * Bad configuration through the bundled action: every problem is reported in
 * one run, each as an annotation naming the file, and not one request reaches
 * any simulator.
 */
describe('bad intents and inputs through dist/index.js', () => {
  let sims: Simulators;
  beforeAll(async () => {
    sims = await startSimulators({ fleet: { size: 3 } });
  });
  afterAll(async () => sims.close());

  it('the whole bad-intent corpus in one folder: one annotation per file, zero requests', async () => {
    const ws = makeWorkspace();
    cpSync(BAD, path.join(ws.dir, '.thoth/rotations'), { recursive: true });
    const files = readdirSync(BAD).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(25);
    sims.log.clear();
    const run = await runAction({ workspace: ws, inputs: simInputs(sims), env: simEnv(sims) });
    expect(run.code).toBe(1);
    expect(run.outputs['status']).toBe('failed');
    for (const f of files) expect(run.stdout, f).toContain(`file=.thoth/rotations/${f}`);
    expect(run.summary).toContain('configuration problems');
    expect(sims.log.entries()).toEqual([]);
  });

  const inputCases: { name: string; inputs: Record<string, string>; expect: RegExp }[] = [
    {
      name: 'both Thoth credentials',
      inputs: { 'thoth-bearer-token': 'bearer-token-value' },
      expect: /thoth-api-key.*thoth-bearer-token|thoth-bearer-token.*thoth-api-key/,
    },
    { name: 'no Thoth credential', inputs: { 'thoth-api-key': '' }, expect: /forks|Dependabot/ },
    { name: 'unknown mode', inputs: { mode: 'rotate' }, expect: /mode/ },
    { name: 'loose boolean', inputs: { 'expose-key': 'yes' }, expect: /expose-key/ },
    { name: 'bad write budget', inputs: { 'graph-write-budget': 'fast' }, expect: /graph-write-budget/ },
    {
      name: 'seal key of the wrong length',
      inputs: { 'rollback-seal-key': Buffer.alloc(16).toString('base64') },
      expect: /rollback-seal-key/,
    },
    { name: 'revoke without key-ids', inputs: { mode: 'revoke', reason: 'INC-1' }, expect: /key-ids/ },
    { name: 'key-ids outside revoke', inputs: { 'key-ids': 'key_abc' }, expect: /key-ids/ },
    { name: 'jamf secret without id', inputs: { 'jamf-client-id': '' }, expect: /jamf-client-id/ },
  ];
  for (const c of inputCases) {
    it(`input: ${c.name} → named error, zero requests`, async () => {
      const ws = makeWorkspace();
      ws.write('.thoth/rotations/ok.yaml', jamfIntent(sims));
      sims.log.clear();
      const run = await runAction({ workspace: ws, inputs: simInputs(sims, c.inputs), env: simEnv(sims) });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(c.expect);
      expect(sims.log.entries()).toEqual([]);
    });
  }
});
