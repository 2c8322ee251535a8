import { getOctokit } from '@actions/github';
import { HttpError } from '../errors.js';
import { redact } from '../secrets.js';
import { effectiveRetryPolicy, effectiveTimeoutMs } from '../http/client.js';
import { backoffDelay, parseRetryAfter, RETRYABLE_STATUSES } from '../http/retry.js';

/**
 * The repository files that hold each rotation's durable state, through the REST
 * contents API. The blob `sha` is an optimistic lock: a writer holding a stale
 * sha loses with 409 and must re-read (spec §6).
 */
export interface RepoFiles {
  defaultBranch(): Promise<string>;
  read(path: string, branch: string): Promise<{ text: string; sha: string } | undefined>;
  /** Creates (sha undefined) or updates the file; throws StaleWriteError when someone else wrote first. */
  write(p: { path: string; branch: string; text: string; sha: string | undefined; message: string }): Promise<{ sha: string; commit: string }>;
}

/** Another writer got there first (409 stale sha, or 422 "sha wasn't supplied" on create). */
export class StaleWriteError extends Error {
  constructor(path: string) {
    super(`github: ${path} changed under us (another run wrote it first)`);
    this.name = 'StaleWriteError';
  }
}

/** The branch refuses direct commits (protection or ruleset). */
export class BranchProtectedError extends Error {}

export interface RepoFilesParams {
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  readonly apiUrl?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Per-request timeout (default 30 s): without one, a GitHub request that never answers stalls the run forever. */
  readonly timeoutMs?: number;
}

const PROTECTION = /must be made through a pull request|protected branch|verified signatures|repository rule|status check/i;

class GithubRepoFiles implements RepoFiles {
  readonly #octokit: ReturnType<typeof getOctokit>;
  readonly #p: RepoFilesParams;

  constructor(p: RepoFilesParams) {
    this.#p = p;
    this.#octokit = getOctokit(p.token, p.apiUrl ? { baseUrl: p.apiUrl } : {});
  }

  async defaultBranch(): Promise<string> {
    const r = await this.#retry('GET', `/repos/${this.#p.owner}/${this.#p.repo}`, () => this.#octokit.rest.repos.get({ owner: this.#p.owner, repo: this.#p.repo, request: this.#request() }));
    return r.data.default_branch;
  }

  async read(path: string, branch: string): Promise<{ text: string; sha: string } | undefined> {
    try {
      const r = await this.#retry('GET', `contents/${path}`, () =>
        this.#octokit.rest.repos.getContent({ owner: this.#p.owner, repo: this.#p.repo, path, ref: branch, headers: { 'cache-control': 'no-cache' }, request: this.#request() }),
      );
      const d = r.data as { type?: string; content?: string; sha?: string; encoding?: string };
      if (d.type !== 'file' || typeof d.content !== 'string' || typeof d.sha !== 'string') {
        throw new HttpError({ system: 'github', method: 'GET', path: `contents/${path}`, status: 200, detail: 'not a file', retryable: false });
      }
      return { text: Buffer.from(d.content, 'base64').toString('utf8'), sha: d.sha };
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) return undefined;
      throw e;
    }
  }

  async write(p: { path: string; branch: string; text: string; sha: string | undefined; message: string }): Promise<{ sha: string; commit: string }> {
    try {
      const r = await this.#retry('PUT', `contents/${p.path}`, () =>
        this.#octokit.rest.repos.createOrUpdateFileContents({
          owner: this.#p.owner,
          repo: this.#p.repo,
          path: p.path,
          branch: p.branch,
          message: p.message,
          content: Buffer.from(p.text, 'utf8').toString('base64'),
          ...(p.sha ? { sha: p.sha } : {}),
          request: this.#request(),
        }),
      );
      return { sha: r.data.content?.sha ?? '', commit: r.data.commit.sha ?? '' };
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      if (PROTECTION.test(e.message)) {
        throw new BranchProtectedError(
          `github: branch ${p.branch} refuses direct commits (${e.message.replace(/^github: /, '')}). ` +
            'Set evidence-branch to an unprotected branch, or allow the workflow token to bypass the rule for .thoth/evidence.',
        );
      }
      if (e.status === 409 || (e.status === 422 && /sha/i.test(e.message))) {
        // A lost response to our own successful write also lands here: the caller re-reads and compares.
        throw new StaleWriteError(p.path);
      }
      throw e;
    }
  }

  /** A fresh abort signal per attempt: a request that gets no answer in time fails (and is retried). */
  #request(): { signal: AbortSignal } {
    return { signal: AbortSignal.timeout(effectiveTimeoutMs(this.#p.timeoutMs)) };
  }

  /** Octokit errors → HttpError; reads and sha-guarded writes are safe to repeat on 5xx/429/network. */
  async #retry<T>(method: string, path: string, fn: () => Promise<T>): Promise<T> {
    const sleep = this.#p.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const policy = effectiveRetryPolicy();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const err = e as { status?: number; message?: string; response?: { data?: { message?: string }; headers?: Record<string, string> } };
        const status = typeof err.status === 'number' ? err.status : 0;
        const retryable = status === 0 || RETRYABLE_STATUSES.has(status);
        if (retryable && attempt < policy.attempts) {
          // Honour Retry-After (429, and GitHub's secondary rate limits) when it is not absurdly long.
          const after = parseRetryAfter(err.response?.headers?.['retry-after'], Date.now());
          if (after === undefined || after <= policy.maxRetryAfterMs) {
            await sleep(after ?? backoffDelay(policy, attempt));
            continue;
          }
        }
        const detail = redact(String(err.response?.data?.message ?? (status === 0 ? err.message ?? 'connection failed' : ''))).replace(/\s+/g, ' ').slice(0, 300);
        throw new HttpError({ system: 'github', method, path, status, detail, retryable });
      }
    }
  }
}

export function createRepoFiles(p: RepoFilesParams): RepoFiles {
  return new GithubRepoFiles(p);
}
