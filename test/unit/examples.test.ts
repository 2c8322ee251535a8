import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
      'report',
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
  it('shows each example workflow verbatim exactly once, so the two never drift', () => {
    const dir = path.join(ROOT, 'examples/workflows');
    for (const file of readdirSync(dir)) {
      const workflow = readFileSync(path.join(dir, file), 'utf8').trimEnd();
      expect(readme.split(workflow).length - 1, file).toBe(1);
    }
    // docs/fan-out.md explains the fan-out workflow line by line next to its own copy.
    expect(readFileSync(path.join(ROOT, 'docs/fan-out.md'), 'utf8')).toContain(
      readFileSync(path.join(dir, 'thoth-fleets.yml'), 'utf8').trimEnd(),
    );
  });
  it('names the set-up and test commands that CI runs', () => {
    expect(readme).toContain('npm ci && npm run demo\nnpm test');
    expect(readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });
  it("the quick start's intent loads", async () => {
    const intent = /### 2\. Write an intent[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(intent).toBeDefined();
    const workspace = mkdtempSync(path.join(tmpdir(), 'readme-intent-'));
    writeFileSync(path.join(workspace, 'intent.yaml'), intent!);
    const intents = await loadIntents('intent.yaml', { workspace, allowedHosts: AllowedHosts.parse('').hosts });
    expect(intents).toHaveLength(1);
  });
});

/** GitHub's heading anchor: inline code unwrapped, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutCode(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const a = anchor(m[1]!);
    const n = seen.get(a) ?? 0;
    seen.set(a, n + 1);
    out.add(n === 0 ? a : `${a}-${n}`);
  }
  return out;
}

function withoutCode(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, (c) => (c.includes('](') ? '' : c));
}

describe('documentation links', () => {
  const pages = ['README.md', 'SECURITY.md', ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter(
    (f) => f.endsWith('.md'),
  );
  it('every relative link of the README and docs/ points at a file and heading that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = withoutCode(readFileSync(path.join(ROOT, page), 'utf8'));
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const [file, hash] = target.split('#') as [string, string | undefined];
        const resolved = file === '' ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), file);
        if (!existsSync(resolved)) broken.push(`${page}: ${target} (no such file)`);
        else if (hash && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(hash))
          broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
