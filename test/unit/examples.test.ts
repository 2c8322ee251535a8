import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AllowedHosts } from '../../src/http/allowed-hosts.js';
import { loadIntents } from '../../src/intent/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
};

describe('action.yml', () => {
  it('runs the committed bundle on node24 and describes every input and output', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    for (const [name, i] of Object.entries(action.inputs)) expect(i.description.length, name).toBeGreaterThan(20);
    for (const [name, o] of Object.entries(action.outputs)) expect(o.description.length, name).toBeGreaterThan(10);
  });
  it('declares exactly the inputs and outputs of spec §3–4', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([
      'allowed-hosts',
      'azure-client-id',
      'azure-client-secret',
      'azure-tenant-id',
      'evidence-branch',
      'evidence-hmac-key',
      'expose-key',
      'github-token',
      'graph-write-budget',
      'intents',
      'jamf-client-id',
      'jamf-client-secret',
      'key-ids',
      'mode',
      'reason',
      'replace',
      'rollback-seal-key',
      'thoth-api-key',
      'thoth-bearer-token',
    ]);
    expect(Object.keys(action.outputs).sort()).toEqual([
      'api-key',
      'evidence-commit',
      'key-id',
      'matrix',
      'revoked-key-ids',
      'rotations',
      'status',
    ]);
    expect(action.inputs['mode']!.default).toBe('plan');
    expect(action.inputs['graph-write-budget']!.default).toBe('200/20s');
  });
});

describe('examples/', () => {
  it('every example intent loads', async () => {
    // With the default allowed-hosts: the examples need no allowed-hosts input.
    const intents = await loadIntents(path.join(ROOT, 'examples/.thoth/rotations'), {
      workspace: path.join(ROOT, 'examples'),
      allowedHosts: AllowedHosts.parse('').hosts,
    });
    expect(intents.map((i) => i.name)).toEqual([
      'corpsec-macos-2026-12',
      'corpsec-macos-policy',
      'corpsec-windows-2026-12',
    ]);
    expect(intents.find((i) => i.name === 'corpsec-macos-policy')?.recurrence).toEqual({
      everyMs: 90 * 86_400_000,
      beforeMs: 14 * 86_400_000,
    });
  });
  it('every example workflow passes only declared inputs to the action', () => {
    const dir = path.join(ROOT, 'examples/workflows');
    for (const file of readdirSync(dir)) {
      const wf = parse(readFileSync(path.join(dir, file), 'utf8')) as {
        jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
      };
      const steps = Object.values(wf.jobs)
        .flatMap((j) => j.steps ?? [])
        .filter((s) => s.uses?.includes('thoth-rotate'));
      expect(steps.length, file).toBeGreaterThan(0);
      for (const s of steps)
        for (const k of Object.keys(s.with ?? {})) expect(Object.keys(action.inputs), `${file}: ${k}`).toContain(k);
    }
  });
});

describe('README', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  it('shows each example workflow verbatim, so the two never drift', () => {
    const dir = path.join(ROOT, 'examples/workflows');
    for (const file of readdirSync(dir))
      expect(readme, file).toContain(readFileSync(path.join(dir, file), 'utf8').trimEnd());
  });
  it('names the set-up and test commands that CI runs', () => {
    expect(readme).toContain('npm ci && npm run demo\nnpm test');
    expect(readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
