/**
 * `npm run demo`: a full rotation of a 25-endpoint Jamf fleet against the
 * embedded simulators, through the bundled action exactly as a runner runs it:
 * plan, apply (create → deploy → refresh → validate), wait out the short
 * validation window, apply again (revoke the old key), apply once more (nothing).
 */
import { startSimulators } from '../sim/index.js';
import { jamfIntent, makeWorkspace, runAction, simEnv, simInputs, type ActionRun } from '../sim/runner.js';

const VALIDATION_WINDOW_S = 3;

function show(title: string, run: ActionRun): void {
  console.log(`\n━━━ ${title}: exit ${run.code}, status=${run.outputs['status'] ?? '?'} ━━━`);
  for (const line of run.stdout.split('\n')) {
    if (
      line.startsWith('::add-mask::') ||
      line.startsWith('::debug::') ||
      line.startsWith('::group::') ||
      line.startsWith('::endgroup::')
    )
      continue;
    if (line.trim()) console.log(`  ${line}`);
  }
  console.log('\n  Job summary:');
  console.log(
    run.summary
      .split('\n')
      .map((l) => `  │ ${l}`)
      .join('\n'),
  );
}

const sims = await startSimulators({
  fleet: { size: 25, offline: 2, stuck: 1, inactive: 2, checkInDelayMs: [100, 600] },
});
try {
  const ws = makeWorkspace();
  const intentFile = ws.write(
    '.thoth/rotations/corpsec-macos.yaml',
    jamfIntent(sims, {
      validation: `validation:\n  window: ${VALIDATION_WINDOW_S}s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 20s\n  pollInterval: 500ms`,
    }),
  );
  console.log(`Simulators: thoth ${sims.urls.thoth}, jamf ${sims.urls.jamf}, github ${sims.urls.github}`);
  console.log(`Intent: ${intentFile}`);
  const inputs = (mode: string) => simInputs(sims, { mode });
  const env = simEnv(sims);

  show(
    '1. plan (pull request)',
    await runAction({ workspace: ws, inputs: inputs('plan'), env: { ...env, GITHUB_EVENT_NAME: 'pull_request' } }),
  );
  show('2. apply (push to main)', await runAction({ workspace: ws, inputs: inputs('apply'), env }));
  console.log(`\n… waiting ${VALIDATION_WINDOW_S}s for the validation window …`);
  await new Promise((r) => setTimeout(r, VALIDATION_WINDOW_S * 1000 + 200));
  show(
    '3. apply (schedule, after the window)',
    await runAction({ workspace: ws, inputs: inputs('apply'), env: { ...env, GITHUB_EVENT_NAME: 'schedule' } }),
  );
  sims.log.clear();
  show(
    '4. apply again (idempotent)',
    await runAction({ workspace: ws, inputs: inputs('apply'), env: { ...env, GITHUB_EVENT_NAME: 'schedule' } }),
  );
  console.log(`\nMutating requests in run 4: ${sims.log.mutations().length}`);
  const evidence = `.thoth/evidence/${sims.ids.fleetId}/corpsec-macos-2026-12.json`;
  const record = JSON.parse(sims.github.file(evidence, 'main')!) as {
    state: string;
    newKey: { keyId: string; fingerprint: string };
    oldKey: { keyId: string };
    events: { at: string; step: string; outcome: string; detail: string; chain: { hash: string } }[];
  };
  console.log(
    `\nEvidence ${evidence}: ${sims.github.commits('main').length} commits, state ${record.state}, new key ${record.newKey.keyId} (${record.newKey.fingerprint.slice(0, 23)}…), old key ${record.oldKey.keyId}`,
  );
  for (const e of record.events)
    console.log(`  ${e.at}  ${e.chain.hash.slice(0, 8)}  ${e.step.padEnd(20)} ${e.outcome.padEnd(8)} ${e.detail}`);
} finally {
  await sims.close();
}
