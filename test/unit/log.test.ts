import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureStdout } from '../capture-stdout.js';
import { log } from '../../src/log.js';
import { registerSecret } from '../../src/secrets.js';
import { runnerLines, workflowCommands } from '../runner-commands.js';

const stdout = captureStdout();

const HOSTILE = 'mac-07\n::stop-commands::pwned\n\r##[set-output name=status;]completed\u2028::add-mask::x';

describe('log (the sinks)', () => {
  it('info and debug: no command from the message', () => {
    log.info(`straggler ${HOSTILE}`);
    expect(workflowCommands(stdout.text)).toEqual([]);
    log.debug(`retry ${HOSTILE}`);
    expect(workflowCommands(stdout.text).map((c) => c.command)).toEqual(['debug']);
  });

  it('warning, error, notice: one annotation each, its title and file neutralised too', () => {
    log.warning(HOSTILE, { title: `t ${HOSTILE}`, file: `f\n::x::y` });
    log.error(HOSTILE, { title: HOSTILE, file: '.thoth/rotations/a.yaml', startLine: 3 });
    log.notice(HOSTILE);
    expect(workflowCommands(stdout.text).map((c) => c.command)).toEqual(['warning', 'error', 'notice']);
    expect(runnerLines(stdout.text.trimEnd())).toHaveLength(3);
    expect(stdout.text).not.toContain('##[');
    expect(stdout.text).toContain('file=.thoth/rotations/a.yaml,line=3');
  });

  it('groups: the title is one line', () => {
    log.startGroup(`intent ${HOSTILE}`);
    log.endGroup();
    expect(workflowCommands(stdout.text).map((c) => c.command)).toEqual(['group', 'endgroup']);
  });

  it('fail: an error annotation and exit code 1', () => {
    const before = process.exitCode;
    log.fail(`failed: ${HOSTILE}`);
    expect(process.exitCode).toBe(1);
    process.exitCode = before;
    expect(workflowCommands(stdout.text).map((c) => c.command)).toEqual(['error']);
  });

  it('scrubs registered secrets before anything is written', () => {
    registerSecret('s3cr3t-value-for-log-test');
    stdout.text = '';
    log.info('token s3cr3t-value-for-log-test here');
    log.warning('x', { title: 's3cr3t-value-for-log-test' });
    expect(stdout.text).not.toContain('s3cr3t-value-for-log-test');
  });
});

describe('src/ writes to the log only through src/log.ts', () => {
  const SRC = path.resolve(__dirname, '../../src');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
  it('no core.info/warning/error/notice/debug/group/setFailed, console.log or stdout write elsewhere', () => {
    const offenders = files(SRC)
      .filter((f) => path.basename(f) !== 'log.ts')
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ where: `${path.relative(SRC, f)}:${i + 1}`, line }))
          .filter(({ line }) =>
            /\bcore\.(info|warning|error|notice|debug|startGroup|endGroup|group|setFailed)\b|console\.(log|info|warn)\(|process\.std(out|err)\.write/.test(
              line,
            ),
          ),
      );
    expect(offenders).toEqual([]);
  });
});
