/**
 * The pure parts of `npm run local` (scripts/local.ts): command-line flags and a .env file turned
 * into the action's inputs and environment, and the runner's treatment of the action's stdout
 * (`::add-mask::` hides a value from then on; workflow commands shown as the log shows them).
 */
import { parseEnv } from 'node:util';

export interface LocalArgs {
  readonly inputs: Record<string, string>;
  readonly envFile?: string;
  readonly sim: boolean;
  readonly simMdm: 'jamf' | 'intune';
  readonly workspace?: string;
  readonly debug: boolean;
}

// Not --env-file: Node 20 takes --env-file from anywhere on its command line, even after the
// script name, and fails before the script starts (fixed in later Node versions).
const OWN_FLAGS = ['dotenv', 'workspace', 'sim-mdm'];

/**
 * `--mode plan --intents DIR --allowed-hosts=a,b --sim --dotenv .env`: every `--<input>` of
 * action.yml is an input (`--name value` or `--name=value`); `--dotenv`, `--workspace`,
 * `--sim`, `--sim-mdm jamf|intune` and `--debug` are the script's own. Anything else is an error,
 * so a typo in an input name does not silently run with the default.
 */
export function parseLocalArgs(argv: readonly string[], inputNames: readonly string[]): LocalArgs {
  const inputs: Record<string, string> = {};
  const own: Record<string, string> = {};
  let sim = false;
  let debug = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--sim') sim = true;
    else if (arg === '--debug') debug = true;
    else {
      const m = /^--([a-z0-9-]+)(?:=([\s\S]*))?$/.exec(arg);
      if (!m)
        // Only what comes before a `=`: a mistyped flag may carry a secret as its value.
        throw new Error(
          `${JSON.stringify(arg.split('=')[0])} is not a flag: write --<input-name> <value>, e.g. --mode plan`,
        );
      const name = m[1]!;
      const known = inputNames.includes(name) || OWN_FLAGS.includes(name);
      if (!known)
        throw new Error(
          `--${name} is not an input of action.yml nor a flag of npm run local; inputs: ${inputNames.join(', ')}`,
        );
      let value = m[2];
      if (value === undefined) {
        value = argv[i + 1];
        if (value === undefined) throw new Error(`--${name} needs a value`);
        i++;
      }
      (OWN_FLAGS.includes(name) ? own : inputs)[name] = value;
    }
  }
  const simMdm = own['sim-mdm'] ?? 'jamf';
  if (simMdm !== 'jamf' && simMdm !== 'intune') throw new Error(`--sim-mdm ${simMdm}: use jamf or intune`);
  return {
    inputs,
    sim,
    simMdm,
    debug,
    ...(own['dotenv'] !== undefined ? { envFile: own['dotenv'] } : {}),
    ...(own['workspace'] !== undefined ? { workspace: own['workspace'] } : {}),
  };
}

/**
 * A .env file split into action inputs and other environment. A key that names an input of
 * action.yml, bare (`thoth-api-key=…`, any case) or as the runner spells it
 * (`INPUT_THOTH-API-KEY=…`), is an input: names with dashes cannot be exported from a shell,
 * which is why the file exists. Any other key (GITHUB_REPOSITORY, GITHUB_API_URL, …) is passed
 * to the action's environment as it is.
 */
export function splitEnvFile(
  text: string,
  inputNames: readonly string[],
): { inputs: Record<string, string>; env: Record<string, string> } {
  const inputs: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const [key, value = ''] of Object.entries(parseEnv(text))) {
    const bare = key.replace(/^INPUT_/i, '').toLowerCase();
    if (inputNames.includes(bare)) inputs[bare] = value;
    else env[key] = value;
  }
  return { inputs, env };
}

/** Inputs as the runner passes them: `INPUT_` + the name upper-cased, dashes kept. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
}

const unescapeData = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');

/**
 * The runner's view of the action's stdout, a line at a time: `::add-mask::` lines are not
 * shown and their value is replaced by *** in every later line (as are `secrets` given up
 * front, which the runner masks because they come from `secrets.*`); `::debug::` lines only with
 * `debug`; other workflow commands shown the way the log renders them.
 */
export class RunnerLog {
  private readonly masks: string[] = [];

  constructor(
    secrets: readonly string[],
    private readonly debug: boolean,
  ) {
    for (const s of secrets) this.addMask(s);
  }

  addMask(value: string): void {
    if (!value) return;
    // The runner masks each line of a multi-line secret too.
    for (const v of [value, ...value.split(/\r?\n/)]) if (v.trim() && !this.masks.includes(v)) this.masks.push(v);
    this.masks.sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const m of this.masks) if (out.includes(m)) out = out.split(m).join('***');
    return out;
  }

  /** What the log shows for one stdout line, or undefined for none. */
  line(raw: string): string | undefined {
    const add = /^::add-mask::(.*)$/.exec(raw);
    if (add) {
      this.addMask(unescapeData(add[1]!));
      return undefined;
    }
    const cmd = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(raw);
    if (!cmd) return this.mask(raw);
    const [, name, props, data] = cmd;
    const text = this.mask(unescapeData(data!));
    switch (name) {
      case 'debug':
        return this.debug ? `##[debug]${text}` : undefined;
      case 'group':
        return `▶ ${text}`;
      case 'endgroup':
        return undefined;
      case 'error':
      case 'warning':
      case 'notice': {
        const title = /(?:^|,)title=([^,]*)/.exec(props ?? '')?.[1];
        const where = /(?:^|,)file=([^,]*)/.exec(props ?? '')?.[1];
        const label = `${name[0]!.toUpperCase()}${name.slice(1)}`;
        const head = [title ? this.mask(unescapeData(title)) : '', where ? `(${this.mask(where)})` : '']
          .filter(Boolean)
          .join(' ');
        return `${label}${head ? ` ${head}` : ''}: ${text}`;
      }
      default:
        return this.mask(raw);
    }
  }
}
