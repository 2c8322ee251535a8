import { HttpError } from '../errors.js';
import { HttpClient, seg } from '../http/client.js';
import { USER_AGENT } from '../version.js';

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
  /** GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3); default https://api.github.com. */
  readonly apiUrl?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Per-request timeout (default 30 s): without one, a GitHub request that never answers stalls the run forever. */
  readonly timeoutMs?: number;
}

const GITHUB_HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' } as const;

const PROTECTION = /must be made through a pull request|protected branch|verified signatures|repository rule|status check/i;

/** GitHub's error body: `{ "message": "...", "documentation_url": "..." }`. */
function describeGithubError(_status: number, text: string): { message: string } {
  try {
    const d = JSON.parse(text) as { message?: unknown };
    return { message: typeof d.message === 'string' ? d.message : '' };
  } catch {
    return { message: '' };
  }
}

/**
 * Plain REST calls through the project's HttpClient (retries with Retry-After, timeouts,
 * redacted errors), not Octokit: three calls do not justify a second HTTP stack in the bundle.
 * Reads and sha-guarded writes are safe to repeat on 5xx, 429 and network errors.
 */
class GithubRepoFiles implements RepoFiles {
  readonly #http: HttpClient;
  readonly #repoPath: string;

  constructor(p: RepoFilesParams) {
    this.#repoPath = `/repos/${seg(p.owner)}/${seg(p.repo)}`;
    this.#http = new HttpClient({
      system: 'github',
      baseUrl: p.apiUrl ?? 'https://api.github.com',
      userAgent: USER_AGENT,
      ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
      ...(p.sleep ? { sleep: p.sleep } : {}),
      auth: { headers: async () => ({ authorization: `Bearer ${p.token}` }) },
      describeError: describeGithubError,
    });
  }

  async defaultBranch(): Promise<string> {
    const d = (await this.#get(this.#repoPath)) as { default_branch?: unknown } | undefined;
    if (typeof d?.default_branch !== 'string') throw this.#shapeError('GET', this.#repoPath, 'no default_branch');
    return d.default_branch;
  }

  async read(path: string, branch: string): Promise<{ text: string; sha: string } | undefined> {
    const call = `${this.#contents(path)}?ref=${encodeURIComponent(branch)}`;
    const d = (await this.#get(call, [404], { 'cache-control': 'no-cache' })) as { type?: string; content?: string; sha?: string } | undefined;
    if (d === undefined) return undefined;
    if (d.type !== 'file' || typeof d.content !== 'string' || typeof d.sha !== 'string') throw this.#shapeError('GET', this.#contents(path), 'not a file');
    return { text: Buffer.from(d.content, 'base64').toString('utf8'), sha: d.sha };
  }

  async write(p: { path: string; branch: string; text: string; sha: string | undefined; message: string }): Promise<{ sha: string; commit: string }> {
    const body = JSON.stringify({ message: p.message, branch: p.branch, content: Buffer.from(p.text, 'utf8').toString('base64'), ...(p.sha ? { sha: p.sha } : {}) });
    try {
      const d = (await this.#http.json({ method: 'PUT', path: this.#contents(p.path), headers: GITHUB_HEADERS, body })) as { content?: { sha?: string }; commit?: { sha?: string } } | undefined;
      return { sha: d?.content?.sha ?? '', commit: d?.commit?.sha ?? '' };
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      // Match the server's words only: the path in the message may contain "sha" or "protected".
      if (PROTECTION.test(e.detail)) {
        throw new BranchProtectedError(
          `github: branch ${p.branch} refuses direct commits (${e.message.replace(/^github: /, '')}). ` +
            'Set evidence-branch to an unprotected branch, or allow the workflow token to bypass the rule for .thoth/evidence.',
        );
      }
      if (e.status === 409 || (e.status === 422 && /\bsha\b/i.test(e.detail))) {
        // A lost response to our own successful write also lands here: the caller re-reads and compares.
        throw new StaleWriteError(p.path);
      }
      throw e;
    }
  }

  /** GET a JSON document; a status in `absent` means "not there" (undefined). */
  async #get(path: string, absent: readonly number[] = [], headers: Record<string, string> = {}): Promise<unknown> {
    const res = await this.#http.send({ method: 'GET', path, headers: { ...GITHUB_HEADERS, ...headers }, okStatuses: absent });
    if (absent.includes(res.status)) return undefined;
    try {
      return JSON.parse(res.text);
    } catch {
      throw this.#shapeError('GET', path.split('?')[0] ?? path, 'response is not JSON');
    }
  }

  /** Each segment encoded on its own: the file path's slashes stay path separators. */
  #contents(path: string): string {
    return `${this.#repoPath}/contents/${path.split('/').map(seg).join('/')}`;
  }

  #shapeError(method: string, path: string, detail: string): HttpError {
    return new HttpError({ system: 'github', method, path, status: 200, detail, retryable: false });
  }
}

export function createRepoFiles(p: RepoFilesParams): RepoFiles {
  return new GithubRepoFiles(p);
}
