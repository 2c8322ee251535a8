/**
 * `npm run local -- --mode plan --intents DIR [--dotenv .env] [--sim] [--<input> value …]`
 *
 * Runs the BUNDLE (dist/index.js, what a runner executes) on this machine the way a runner
 * would: inputs as INPUT_* variables (from flags, a .env file and action.yml's defaults), a
 * GITHUB_* environment, and temporary GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files that are printed
 * at the end. Its log is shown as the Actions log shows it: `::add-mask::` values and the given
 * secrets become ***.
 *
 * --sim starts the loopback simulators (sim/) and takes their fake credentials, allowed-hosts
 * and GitHub API; without --intents it writes the simulators' example intent into a temporary
 * workspace, so a first plan needs no tenant. Without --sim, the intents, credentials and
 * GITHUB_REPOSITORY are yours (a real tenant): see docs/local-runs.md.
 *
 * Paths are relative to the folder npm was started from. The workspace (GITHUB_WORKSPACE, the
 * repository the intents live in) is --workspace, else that folder; --intents must be inside it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import { startSimulators, type Simulators } from '../sim/index.js';
import {
  DIST,
  intuneIntent,
  jamfIntent,
  makeWorkspace,
  parseOutputFile,
  runnerEnvironment,
  simEnv,
  simInputs,
  writeWindowsTemplates,
} from '../sim/runner.js';
import { SECRET_INPUTS } from '../src/settings.js';
import { inputEnv, parseLocalArgs, RunnerLog, splitEnvFile } from './lib/local-run.js';

const ROOT = path.dirname(path.dirname(DIST));
const CALLER_DIR = process.env['INIT_CWD'] ?? process.cwd();

function fail(message: string): never {
  console.error(`npm run local: ${message}`);
  process.exit(2);
}

const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>;
};
const inputNames = Object.keys(action.inputs);
let args: ReturnType<typeof parseLocalArgs>;
try {
  args = parseLocalArgs(process.argv.slice(2), inputNames);
} catch (e) {
  fail((e as Error).message);
}
if (!existsSync(DIST)) fail('dist/index.js is missing: run npm run build first');

const fromCaller = (p: string): string => path.resolve(CALLER_DIR, p);
let fileInputs: Record<string, string> = {};
let fileEnv: Record<string, string> = {};
if (args.envFile) {
  const file = fromCaller(args.envFile);
  if (!existsSync(file)) fail(`--dotenv ${args.envFile}: no such file (${file})`);
  ({ inputs: fileInputs, env: fileEnv } = splitEnvFile(readFileSync(file, 'utf8'), inputNames));
}

let sims: Simulators | undefined;
const stopSims = async (): Promise<void> => {
  await sims?.close();
  sims = undefined;
};

async function main(): Promise<number> {
  // Inputs, later ones winning: action.yml defaults < simulators < .env file < flags.
  const defaults = Object.fromEntries(
    Object.entries(action.inputs)
      .filter(([, i]) => i.default !== undefined && !i.default.includes('${{'))
      .map(([k, i]) => [k, i.default!]),
  );
  let simPart: Record<string, string> = {};
  let env: Record<string, string> = {};
  let workspace = args.workspace ? fromCaller(args.workspace) : CALLER_DIR;
  let intents = args.inputs['intents'] ?? fileInputs['intents'];

  if (args.sim) {
    sims = await startSimulators({
      fleet: {
        size: 25,
        mdm: args.simMdm,
        offline: 2,
        stuck: 1,
        inactive: 1,
        checkInDelayMs: [100, 600],
        ...(args.simMdm === 'intune' ? { os: 'mixed' as const } : {}),
      },
    });
    simPart = simInputs(sims, {
      'azure-tenant-id': sims.creds.azureTenantId,
      'azure-client-id': sims.creds.azureClientId,
      'azure-client-secret': sims.creds.azureClientSecret,
    });
    delete simPart['mode'];
    delete simPart['intents'];
    env = simEnv(sims);
    if (!intents) {
      const ws = makeWorkspace();
      const platforms = { macos: true, windows: true };
      ws.write(
        '.thoth/rotations/sim-example.yaml',
        args.simMdm === 'intune' ? intuneIntent(sims, platforms) : jamfIntent(sims),
      );
      if (args.simMdm === 'intune') writeWindowsTemplates(ws);
      workspace = ws.dir;
      intents = '.thoth/rotations';
      console.log(`Simulators started; their example intent is ${path.join(ws.dir, intents, 'sim-example.yaml')}`);
    } else console.log('Simulators started; using your intents with their credentials and allowed-hosts');
  }

  const inputs: Record<string, string> = { ...defaults, ...simPart, ...fileInputs, ...args.inputs };
  if (intents === args.inputs['intents'] || intents === fileInputs['intents']) {
    // Given relative to where npm was started; the action wants it relative to the workspace.
    const rel = path.relative(workspace, fromCaller(intents!));
    if (rel.startsWith('..') || path.isAbsolute(rel))
      fail(`--intents ${intents} is outside the workspace ${workspace}: give --workspace <the repository root>`);
    inputs['intents'] = rel || '.';
  } else if (intents) inputs['intents'] = intents;
  if (!inputs['github-token'] && process.env['GITHUB_TOKEN']) inputs['github-token'] = process.env['GITHUB_TOKEN'];

  const runner = runnerEnvironment(workspace);
  const childEnv: Record<string, string> = {
    ...runner.env,
    GITHUB_EVENT_NAME: inputs['mode'] === 'plan' ? 'pull_request' : 'workflow_dispatch',
    GITHUB_API_URL: 'https://api.github.com',
    ...env,
    ...fileEnv,
    ...inputEnv(inputs),
    ...(args.debug ? { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true' } : {}),
  };
  if (!childEnv['GITHUB_REPOSITORY'])
    fail('GITHUB_REPOSITORY is not set: put GITHUB_REPOSITORY=owner/repo in the --dotenv file (evidence lives there)');

  const log = new RunnerLog(
    SECRET_INPUTS.map((k) => inputs[k] ?? ''),
    args.debug,
  );
  console.log(
    `Running ${path.relative(CALLER_DIR, DIST) || DIST} (mode ${inputs['mode']}, workspace ${workspace}, intents ${inputs['intents']}, repository ${childEnv['GITHUB_REPOSITORY']})\n`,
  );
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [DIST], { env: childEnv, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] });
    const show = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void => {
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (l) => {
        const shown = log.line(l);
        if (shown !== undefined) out.write(`${shown}\n`);
      });
    };
    show(child.stdout, process.stdout);
    show(child.stderr, process.stderr);
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });

  const outputs = parseOutputFile(readFileSync(runner.outputFile, 'utf8'));
  console.log(`\n── Outputs (${runner.outputFile})`);
  for (const [k, v] of Object.entries(outputs)) console.log(`  ${k} = ${log.mask(v)}`);
  console.log(`\n── Job summary (${runner.summaryFile})`);
  console.log(log.mask(readFileSync(runner.summaryFile, 'utf8')));
  console.log(`── exit ${code}`);
  return code;
}

const stop = (): void => {
  void stopSims().then(() => process.exit(130));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
try {
  process.exitCode = await main();
} finally {
  await stopSims();
}
