/**
 * Typed errors. Messages never carry a secret or a request body: HttpError keeps
 * only the system, method, path (ids percent-encoded, no query secrets) and a
 * redacted server message.
 */

/** One problem in one configuration source (an intent file or the action's inputs). */
export interface ConfigProblem {
  /** File path, or `inputs` for action inputs. */
  readonly file: string;
  /** Dotted path inside the file (`validation.minHealthy`), or the input name. */
  readonly field: string;
  readonly problem: string;
  readonly fix: string;
  readonly line?: number;
  readonly col?: number;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.col ?? 1}` : p.file;
  return `${where} ${p.field}: ${p.problem} (${p.fix})`;
}

/** Every problem found in the configuration, reported together before any request. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(
      problems.length === 1
        ? formatProblem(problems[0]!)
        : `${problems.length} configuration problems:\n${problems.map(formatProblem).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type SystemName = 'thoth' | 'jamf' | 'graph' | 'github';

/** A non-2xx answer or a transport failure from one external system. */
export class HttpError extends Error {
  readonly system: SystemName;
  readonly method: string;
  readonly path: string;
  /** 0 for a transport failure (reset, timeout, DNS). */
  readonly status: number;
  readonly code: string | undefined;
  /** The server's own (redacted, bounded) words, without the call: what to match on. */
  readonly detail: string;
  readonly retryable: boolean;
  constructor(p: {
    system: SystemName;
    method: string;
    path: string;
    status: number;
    code?: string | undefined;
    detail: string;
    retryable: boolean;
  }) {
    const what = p.status === 0 ? 'network error' : `HTTP ${p.status}${p.code ? ` ${p.code}` : ''}`;
    super(`${p.system}: ${what} on ${p.method} ${p.path}${p.detail ? `: ${p.detail}` : ''}`);
    this.name = 'HttpError';
    this.system = p.system;
    this.method = p.method;
    this.path = p.path;
    this.status = p.status;
    this.code = p.code;
    this.detail = p.detail;
    this.retryable = p.retryable;
  }
}

/** A response that is 2xx but not the shape the API documents. */
export class ResponseShapeError extends Error {
  constructor(system: SystemName, call: string, problem: string) {
    super(`${system}: unexpected response to ${call}: ${problem}`);
    this.name = 'ResponseShapeError';
  }
}

/** A safety rule of spec §7 would be broken: the run stops instead. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
