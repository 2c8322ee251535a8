import * as core from '@actions/core';
import { redact } from './secrets.js';
import { logText, oneLine } from './untrusted-text.js';

/**
 * The only way src/ writes to the job log. Every message and annotation property goes
 * through the secret scrubber and the neutraliser here, at the sink, so no call site can
 * forget to (spec §9 "Untrusted text"). `core.setSecret`, `core.setOutput` and
 * `core.summary` are not log lines and stay with their callers.
 */

/** Annotation properties (file, title, lines): the text ones are neutralised too. */
export type AnnotationProperties = core.AnnotationProperties;

const message = (m: string): string => logText(redact(m));
/** Group titles and annotation properties are one line. */
const title = (t: string): string => oneLine(logText(redact(t)));

function properties(p: AnnotationProperties | undefined): AnnotationProperties {
  if (!p) return {};
  return {
    ...p,
    ...(p.title !== undefined ? { title: title(p.title) } : {}),
    ...(p.file !== undefined ? { file: title(p.file) } : {}),
  };
}

export const log = {
  info: (m: string): void => core.info(message(m)),
  debug: (m: string): void => core.debug(message(m)),
  notice: (m: string, p?: AnnotationProperties): void => core.notice(message(m), properties(p)),
  warning: (m: string, p?: AnnotationProperties): void => core.warning(message(m), properties(p)),
  error: (m: string, p?: AnnotationProperties): void => core.error(message(m), properties(p)),
  /** An error annotation and exit code 1 (core.setFailed). */
  fail: (m: string): void => core.setFailed(message(m)),
  startGroup: (name: string): void => core.startGroup(title(name)),
  endGroup: (): void => core.endGroup(),
  group: <T>(name: string, fn: () => Promise<T>): Promise<T> => core.group(title(name), fn),
};

/** What a step or an adapter logs through: injected (tests pass a fake), `log` above in the action. */
export type Log = Pick<typeof log, 'info' | 'warning'>;
