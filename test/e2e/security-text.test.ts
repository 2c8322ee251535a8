import { describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import { workflowCommands } from '../runner-commands.js';
import {
  intuneIntent,
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  closeAfterAll,
} from './harness.js';

/**
 * Spec §9 "Untrusted text", through the bundle: device names (Jamf computer names, Intune
 * deviceName, Thoth hostnames) and a key name chosen by an attacker must not produce a
 * workflow command, and must not become links, images or HTML in the job summary.
 */
const HOSTILE = [
  '\n::stop-commands::pwned\n',
  '\r##[set-output name=status;]completed',
  '\n::add-mask::x',
  ' [click](https://evil.example)',
  ' ![x](https://evil.example/i.png)',
  ' <img src=x>',
  '\u2028::error title=spoofed::spoofed',
  '\n\u00ad::set-output name=key-id::evil',
  ' @octocat #1 www.evil.example ceo@evil.example',
];

/** The commands the action itself emits; anything else in stdout came from data. */
const OWN_COMMANDS = new Set(['add-mask', 'group', 'endgroup', 'debug', 'error', 'warning', 'notice']);

/** Parses stdout as the runner would and checks every command is one the action meant to emit. */
function expectOnlyOwnCommands(run: ActionRun): void {
  const found = workflowCommands(run.stdout);
  expect(
    found.filter((c) => c.form === '##[' || !OWN_COMMANDS.has(c.command)),
    'a command the action did not mean to emit',
  ).toEqual([]);
  // add-mask lines carry the action's own secrets, never text from a name.
  const masked = found.filter((c) => c.command === 'add-mask').map((c) => c.line.slice(c.line.indexOf('::', 2) + 2));
  expect(masked.filter((m) => m === 'x' || /pwned|evil|spoofed|completed/.test(m))).toEqual([]);
  // Not one line of stdout starts (after blanks) with "::" unless it is such a command.
  const lines = run.stdout.split(/\r\n|\r|\n/).filter((l) => l.trimStart().startsWith('::'));
  expect(lines.length).toBe(found.filter((c) => c.form === '::').length);
}

/** The job summary: no HTML element but its own, no link but the evidence record, no autolink or mention. */
function expectInertSummary(s: Simulators, run: ActionRun): void {
  const md = run.summary;
  expect(md.length).toBeGreaterThan(0);
  const tags = new Set([...md.matchAll(/<\/?([a-z]+)/gi)].map((m) => m[1]!.toLowerCase()));
  for (const t of tags) expect(['details', 'summary', 'wbr']).toContain(t);
  const links = [...md.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1]!);
  for (const l of links)
    expect(l.startsWith(`https://github.com/${s.creds.owner}/${s.creds.repo}/blob/`), l).toBe(true);
  const source = md.replace(/<wbr>/g, '').replace(/\]\(https:\/\/github\.com\/[^)]*\)/g, '](EVIDENCE)');
  expect(source).not.toMatch(/https?:\/\/|www\.|@|(?<!&)#\d/i);
  expect(md).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029\u00ad]/);
}

// The cases run concurrently, each on its own simulators; every set is closed when the file is done.
const track = closeAfterAll();

/**
 * Half the fleet offline or stuck: stragglers, named in the summary and, in revoke, in the
 * log; three drifted names, named in drift warnings. With the default seed the offline,
 * stuck and drifted endpoints are fixed, so the names asserted below are always among them.
 */
const FLEET = { size: 12, offline: 4, stuck: 2, drift: 3, hostileNames: HOSTILE };
const VALIDATION =
  'validation:\n  window: 2s\n  minHealthy: 50%\n  activeWithin: 7d\n  timeout: 5s\n  pollInterval: 200ms';

describe.concurrent('hostile device and key names (bundled action, simulators)', () => {
  it('Jamf: plan, apply and revoke print the names without a single injected command; the summary stays inert', async () => {
    const sims = track(await startSimulators({ fleet: FLEET }));
    const s = sims;
    // A key whose name carries a line break and a command, as a lost key minted by an interrupted run would be named.
    s.thoth.createKeyDirect({
      scopeLevel: 'fleet',
      scopeTargetId: s.ids.fleetId,
      permissions: ['read', 'execute'],
      name: 'thoth-rotate corpsec-macos-2026-12 run 7.1\n::stop-commands::keyname',
    });
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s, { validation: VALIDATION }));

    const plan = await runAction({ workspace: ws, inputs: simInputs(s), env: simEnv(s) });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.outputs['status']).toBe('planned');

    const apply = await runAction({ workspace: ws, inputs: simInputs(s, { mode: 'apply' }), env: simEnv(s) });
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.outputs['status']).toBe('in-progress');

    // Revoking the old key, which the offline endpoints still run: their names are listed raw in the log.
    const revoke = await runAction({
      workspace: ws,
      inputs: simInputs(s, { mode: 'revoke', 'key-ids': s.ids.oldKeyId, reason: 'INC-7' }),
      env: simEnv(s, { GITHUB_EVENT_NAME: 'workflow_dispatch' }),
    });
    expect(['revoked', 'failed'], revoke.stdout + revoke.stderr).toContain(revoke.outputs['status']);

    for (const run of [plan, apply, revoke]) {
      expectOnlyOwnCommands(run);
      expectInertSummary(s, run);
    }
    // The names did reach the log and the summary, shown rather than obeyed.
    const stdout = [plan, apply, revoke].map((r) => r.stdout).join('\n');
    expect(stdout).toContain('\n: :stop-commands::pwned');
    expect(stdout).toContain('\n: :add-mask::x');
    expect(stdout).toContain('## [set-output name=status;]completed');
    const summaries = [plan, apply, revoke].map((r) => r.summary).join('\n');
    expect(summaries).toContain('!&#91;x&#93;(https&#58;<wbr>//evil.example/i.png)');
    expect(summaries).toContain('&lt;img src=x&gt;');
    expect(summaries).toContain('&#64;<wbr>octocat &#35;<wbr>1 www&#46;<wbr>evil.example ceo&#64;<wbr>evil.example');
    // The lost-key sweep names the key it revokes (when its name marks it as this intent's).
    if (!s.thoth.keys().find((k) => k.name.endsWith('keyname'))!.active)
      expect(stdout).toContain('run 7.1\n: :stop-commands::keyname');
  });

  it('Intune: device names from Graph go the same way', async () => {
    const sims = track(await startSimulators({ fleet: { ...FLEET, mdm: 'intune' } }));
    const s = sims;
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', intuneIntent(s, { macos: true }, { validation: VALIDATION }));
    const inputs = (mode: string) =>
      simInputs(s, {
        mode,
        'jamf-client-id': '',
        'jamf-client-secret': '',
        'azure-tenant-id': s.creds.azureTenantId,
        'azure-client-id': s.creds.azureClientId,
        'azure-client-secret': s.creds.azureClientSecret,
      });
    const plan = await runAction({ workspace: ws, inputs: inputs('plan'), env: simEnv(s) });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const apply = await runAction({ workspace: ws, inputs: inputs('apply'), env: simEnv(s) });
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.outputs['status']).toBe('in-progress');
    for (const run of [plan, apply]) {
      expectOnlyOwnCommands(run);
      expectInertSummary(s, run);
    }
    expect(apply.summary).toContain('!&#91;x&#93;(https&#58;<wbr>//evil.example/i.png)');
    expect(apply.summary).toContain('&lt;img src=x&gt;');
  });
});
