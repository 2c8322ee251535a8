import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSimulators } from '../../sim/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `npm run local -- …` as a user types it, from `cwd` (npm passes it on as INIT_CWD). */
function npmRunLocal(args: string[], cwd = ROOT): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', '--prefix', ROOT, 'local', '--', ...args], {
      cwd,
      env: { ...process.env, INIT_CWD: cwd },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The fake credentials the simulators mint with their default seed (the script uses it too). */
async function simCredentials(): Promise<string[]> {
  const s = await startSimulators({});
  try {
    const c = s.creds;
    return [c.orgApiKey, c.adminBearer, c.jamfClientSecret, c.azureClientSecret, c.githubToken];
  } finally {
    await s.close();
  }
}

describe('npm run local (the bundle on this machine)', () => {
  it('--sim --mode plan: a first plan against the simulators with no tenant, secrets masked', async () => {
    const { code, out } = await npmRunLocal(['--sim', '--mode', 'plan']);
    expect(code, out).toBe(0);
    expect(out).toMatch(/^plan: would create a fleet key \(read, execute\), deploy it through jamf/m);
    expect(out).toContain('status = planned');
    expect(out).toContain('## 📝 thoth-rotate plan: planned');
    expect(out).toMatch(/── exit 0$/m);
    expect(out).not.toContain('::add-mask::');
    for (const secret of await simCredentials()) expect(out).not.toContain(secret);
  });

  it('takes inputs from a .env file (dash names) and refuses a typo in an input flag before running', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'thoth-local-'));
    // An input that a shell could not export: graph-write-budget, bad on purpose so the run says so.
    writeFileSync(path.join(dir, '.env'), 'mode=plan\ngraph-write-budget=lots\n');
    const bad = await npmRunLocal(['--sim', '--dotenv', '.env'], dir);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('graph-write-budget');
    const typo = await npmRunLocal(['--sim', '--intent', 'x'], dir);
    expect(typo.code).toBe(2);
    expect(typo.out).toContain('--intent is not an input of action.yml');
  });
});
