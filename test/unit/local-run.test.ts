import { describe, expect, it } from 'vitest';
import { inputEnv, parseLocalArgs, RunnerLog, splitEnvFile } from '../../scripts/lib/local-run.js';

const INPUTS = ['mode', 'intents', 'allowed-hosts', 'thoth-api-key', 'jamf-client-secret', 'github-token'];

describe('parseLocalArgs', () => {
  it('reads inputs as --name value or --name=value, and its own flags apart', () => {
    const a = parseLocalArgs(
      [
        '--mode',
        'plan',
        '--intents=.thoth/rotations',
        '--allowed-hosts',
        'a.example,b.example',
        '--sim',
        '--dotenv',
        '.env',
      ],
      INPUTS,
    );
    expect(a).toEqual({
      inputs: { mode: 'plan', intents: '.thoth/rotations', 'allowed-hosts': 'a.example,b.example' },
      sim: true,
      simMdm: 'jamf',
      debug: false,
      envFile: '.env',
    });
    expect(parseLocalArgs(['--sim-mdm', 'intune', '--debug', '--workspace', '../infra'], INPUTS)).toMatchObject({
      simMdm: 'intune',
      debug: true,
      workspace: '../infra',
    });
  });
  it('refuses a name that is neither an input nor its own flag, a missing value and a stray word', () => {
    expect(() => parseLocalArgs(['--intent', 'x'], INPUTS)).toThrow('--intent is not an input of action.yml');
    expect(() => parseLocalArgs(['--mode'], INPUTS)).toThrow('--mode needs a value');
    expect(() => parseLocalArgs(['plan'], INPUTS)).toThrow('"plan" is not a flag');
    expect(() => parseLocalArgs(['--sim-mdm', 'kandji'], INPUTS)).toThrow('use jamf or intune');
  });
});

describe('splitEnvFile', () => {
  it('takes input names bare or as INPUT_*, in any case, and passes other keys as environment', () => {
    const text = [
      '# a comment',
      'thoth-api-key=thoth_abc',
      'INPUT_JAMF-CLIENT-SECRET="s3cr=t"',
      'Allowed-Hosts=a.example',
      'GITHUB_REPOSITORY=acme/infra',
      'GITHUB_API_URL=https://ghe.example/api/v3',
    ].join('\n');
    expect(splitEnvFile(text, INPUTS)).toEqual({
      inputs: { 'thoth-api-key': 'thoth_abc', 'jamf-client-secret': 's3cr=t', 'allowed-hosts': 'a.example' },
      env: { GITHUB_REPOSITORY: 'acme/infra', GITHUB_API_URL: 'https://ghe.example/api/v3' },
    });
  });
  it('names inputs the way the runner does (dashes kept), which a shell cannot export', () => {
    expect(inputEnv({ 'thoth-api-key': 'k', mode: 'plan' })).toEqual({
      'INPUT_THOTH-API-KEY': 'k',
      INPUT_MODE: 'plan',
    });
  });
});

describe('RunnerLog', () => {
  it('hides ::add-mask:: lines and masks their values (and the given secrets) from then on', () => {
    const log = new RunnerLog(['given-secret'], false);
    expect(log.line('token given-secret here')).toBe('token *** here');
    expect(log.line('::add-mask::new%25key')).toBeUndefined();
    expect(log.line('the key is new%key, again new%key')).toBe('the key is ***, again ***');
    expect(log.mask('{"api-key":"new%key"}')).toBe('{"api-key":"***"}');
  });
  it('masks each line of a multi-line secret', () => {
    const log = new RunnerLog(['line-one\nline-two'], false);
    expect(log.line('saw line-two')).toBe('saw ***');
  });
  it('renders workflow commands as the log does; debug only when asked', () => {
    const log = new RunnerLog([], false);
    expect(log.line('::group::corpsec (fleet f)')).toBe('▶ corpsec (fleet f)');
    expect(log.line('::endgroup::')).toBeUndefined();
    expect(log.line('::debug::GET /x 200')).toBeUndefined();
    expect(new RunnerLog([], true).line('::debug::GET /x 200')).toBe('##[debug]GET /x 200');
    expect(log.line('::error title=Intent,file=a.yaml,line=3::bad%0Avalue')).toBe('Error Intent (a.yaml): bad\nvalue');
    expect(log.line('::warning::careful')).toBe('Warning: careful');
    expect(log.line('plain')).toBe('plain');
  });
});
