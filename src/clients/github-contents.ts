import { HttpError } from '../errors.js';
import { HttpClient, seg, type HttpRequest, type HttpResponse } from '../http/client.js';
import { backoffDelay } from '../http/retry.js';
import { log } from '../log.js';
import { redact } from '../secrets.js';
import { USER_AGENT } from '../version.js';
import {
  BRANCH_CONFLICT_RETRY,
  classifyConflict,
  gitBlobSha,
  GITHUB_RATE_LIMIT,
  rateLimitWait,
} from './github-limits.js';

/**
 * The repository files that hold each rotation's durable state, through the REST
 * contents API. The blob `sha` is an optimistic lock: a writer holding a stale
 * sha loses with 409 and must re-read (spec §6).
 */
export interface RepoFiles {
  defaultBranch(): Promise<string>;
  read(path: string, branch: string): Promise<{ text: string; sha: string } | undefined>;
  /**
   * Creates (sha undefined) or updates the file; throws StaleWriteError when someone else wrote
   * the file first. A branch that moved because *other* files changed is not a lost race: the
   * write is retried while the file's own sha is still `sha`.
   */
  write(p: {
    path: string;
    branch: string;
    text: string;
    sha: string | undefined;
    message: string;
  }): Promise<{ sha: string; commit: string }>;
}

/**
 * Read-only history of the evidence branch (verify mode): directory listings, the commits that
 * changed a file, and the file at any commit (`RepoFiles.read` with the commit sha as ref).
 */
export interface RepoHistory {
  /** Entries directly under `dir` at `ref`; empty when there is no such directory. */
  list(dir: string, ref: string): Promise<{ type: string; path: string }[]>;
  /** Commits reachable from `ref` that changed `path`, newest first (every page). */
  commitsOf(path: string, ref: string): Promise<{ sha: string; date: string }[]>;
  read(path: string, ref: string): Promise<{ text: string; sha: string } | undefined>;
}

/** The folder listing recurring intents need (one record per cycle, spec §10). */
export interface RepoListing {
  /** Names of the files directly in `dir` on `branch` (folders left out); [] when the folder does not exist. */
  listFiles(dir: string, branch: string): Promise<string[]>;
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

/**
 * GitHub asked us to wait longer than a run waits (GITHUB_RATE_LIMIT): nothing was sent after
 * the limit; `retryAt` is when GitHub will take requests again.
 */
export class RateLimitedError extends HttpError {
  readonly retryAt: Date;
  constructor(p: { method: string; path: string; status: number; retryAt: Date; detail: string }) {
    super({ system: 'github', method: p.method, path: p.path, status: p.status, detail: p.detail, retryable: true });
    this.name = 'RateLimitedError';
    this.retryAt = p.retryAt;
  }
}

export interface RepoFilesParams {
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  /** GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3); default https://api.github.com. */
  readonly apiUrl?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Per-request timeout (default 30 s): without one, a GitHub request that never answers stalls the run forever. */
  readonly timeoutMs?: number;
  /** Clock for rate-limit resets (tests). */
  readonly now?: () => number;
}

const GITHUB_HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' } as const;
/**
 * A file over 1 MB comes back from GET contents with `content: ""` and `encoding: "none"`; the
 * raw media type returns its bytes (up to 100 MB). github/rest-api-description,
 * `/repos/{owner}/{repo}/contents/{path}` get: "Between 1-100 MB: Only the raw or object custom
 * media types are supported … To get the contents of these larger files, use the raw media type."
 */
const RAW_HEADERS = { ...GITHUB_HEADERS, accept: 'application/vnd.github.raw+json' } as const;

const PROTECTION =
  /must be made through a pull request|protected branch|verified signatures|repository rule|status check/i;

/** GitHub's error body: `{ "message": "...", "documentation_url": "..." }`. */
function githubMessage(text: string): string {
  try {
    const d = JSON.parse(text) as { message?: unknown };
    return typeof d.message === 'string' ? d.message : '';
  } catch {
    return '';
  }
}

function describeGithubError(_status: number, text: string): { message: string } {
  return { message: githubMessage(text) };
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Plain REST calls through the project's HttpClient (retries on 5xx and network errors,
 * timeouts, redacted errors), not Octokit: three calls do not justify a second HTTP stack in
 * the bundle. On top of it, GitHub's own limits: rate limits waited out as GitHub asks
 * (403/429), branch-head conflicts retried while the file is still ours (409), and files over
 * 1 MB read with the raw media type. Reads and sha-guarded writes are safe to repeat.
 */
class GithubRepoFiles implements RepoFiles, RepoHistory, RepoListing {
  readonly #http: HttpClient;
  readonly #repoPath: string;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(p: RepoFilesParams) {
    this.#repoPath = `/repos/${seg(p.owner)}/${seg(p.repo)}`;
    this.#sleep = p.sleep ?? sleepReal;
    this.#now = p.now ?? Date.now;
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
    const d = (await this.#getJson(this.#repoPath)) as { default_branch?: unknown } | undefined;
    if (typeof d?.default_branch !== 'string') throw this.#shapeError('GET', this.#repoPath, 'no default_branch');
    return d.default_branch;
  }

  async read(path: string, branch: string): Promise<{ text: string; sha: string } | undefined> {
    // The JSON answer and the raw bytes are two requests: the file may move in between, so the
    // bytes must hash to the sha the JSON named (else read both again).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const d = await this.#meta(path, branch);
      if (d === undefined) return undefined;
      if (d.text !== undefined) return { text: d.text, sha: d.sha };
      const res = await this.#send({
        method: 'GET',
        path: this.#ref(path, branch),
        headers: { ...RAW_HEADERS, 'cache-control': 'no-cache' },
        okStatuses: [404],
      });
      if (res.status === 404) continue;
      if (gitBlobSha(Buffer.from(res.text, 'utf8')) === d.sha) return { text: res.text, sha: d.sha };
    }
    throw this.#shapeError(
      'GET',
      this.#contents(path),
      'the file kept changing while it was read (raw bytes do not match its sha)',
    );
  }

  /**
   * GET contents on a folder answers with an array of its direct children (github/rest-api-description,
   * `/repos/{owner}/{repo}/contents/{path}` get: "If the content is a directory … an array of
   * objects"); up to 1,000 entries, far above one record per cycle.
   */
  async listFiles(dir: string, branch: string): Promise<string[]> {
    return (await this.list(dir, branch))
      .filter((e) => e.type === 'file')
      .map((e) => e.path.slice(e.path.lastIndexOf('/') + 1));
  }

  async write(p: {
    path: string;
    branch: string;
    text: string;
    sha: string | undefined;
    message: string;
  }): Promise<{ sha: string; commit: string }> {
    const body = JSON.stringify({
      message: p.message,
      branch: p.branch,
      content: Buffer.from(p.text, 'utf8').toString('base64'),
      ...(p.sha ? { sha: p.sha } : {}),
    });
    const policy = BRANCH_CONFLICT_RETRY;
    const call = this.#contents(p.path);
    for (let attempt = 1; ; attempt++) {
      const res = await this.#send({
        method: 'PUT',
        path: call,
        headers: GITHUB_HEADERS,
        body,
        okStatuses: [409, 422],
      });
      if (res.status >= 200 && res.status < 300) {
        const d = this.#parse('PUT', call, res) as
          | { content?: { sha?: string }; commit?: { sha?: string } }
          | undefined;
        return { sha: d?.content?.sha ?? '', commit: d?.commit?.sha ?? '' };
      }
      const message = redact(githubMessage(res.text).replace(/\s+/g, ' ').trim()).slice(0, 300);
      // Match the server's words only: the path in the message may contain "sha" or "protected".
      if (PROTECTION.test(message)) {
        throw new BranchProtectedError(
          `github: branch ${p.branch} refuses direct commits (HTTP ${res.status}: ${message}). ` +
            'Set evidence-branch to an unprotected branch, or allow the workflow token to bypass the rule for .thoth/evidence.',
        );
      }
      const failed = (detail: string, retryable = false) =>
        new HttpError({ system: 'github', method: 'PUT', path: call, status: res.status, detail, retryable });
      if (res.status === 422) {
        // "sha wasn't supplied": the file exists now, someone created it first.
        if (/\bsha\b/i.test(message)) throw new StaleWriteError(p.path);
        throw failed(message);
      }
      // 409. The file itself moved: a lost race (or our own earlier attempt whose answer was
      // lost; the journal re-reads and compares).
      const kind = classifyConflict(message);
      if (kind === 'file-moved') throw new StaleWriteError(p.path);
      // The branch moved (or GitHub said something we do not know): the file decides.
      const now = await this.#meta(p.path, p.branch);
      if (now?.sha !== p.sha) throw new StaleWriteError(p.path);
      if (attempt >= policy.attempts)
        throw failed(
          `${message || 'conflict'}; the branch kept moving under ${attempt} attempts (other writers on ${p.branch})`,
          true,
        );
      const wait = backoffDelay(policy, attempt);
      log.debug(
        `github: PUT ${call} HTTP 409 (${kind === 'branch-moved' ? 'the branch moved, the file did not' : message || 'conflict'}); retry ${attempt}/${policy.attempts - 1} in ${wait} ms`,
      );
      await this.#sleep(wait);
    }
  }

  async list(dir: string, ref: string): Promise<{ type: string; path: string }[]> {
    const d = await this.#getJson(this.#ref(dir, ref), [404], { 'cache-control': 'no-cache' });
    if (d === undefined) return [];
    if (!Array.isArray(d)) throw this.#shapeError('GET', this.#contents(dir), 'not a folder');
    return d.flatMap((e: { type?: unknown; path?: unknown }) =>
      typeof e?.type === 'string' && typeof e.path === 'string' ? [{ type: e.type, path: e.path }] : [],
    );
  }

  /** github/rest-api-description repos/list-commits, `path` and `sha` filters, paged by the `link` header. */
  async commitsOf(path: string, ref: string): Promise<{ sha: string; date: string }[]> {
    const out: { sha: string; date: string }[] = [];
    const query = `sha=${encodeURIComponent(ref)}&path=${encodeURIComponent(path)}&per_page=100`;
    // 100 pages of 100: far more commits than one record ever gets; the bound keeps a hostile link loop finite.
    for (let page = 1; page <= 100; page++) {
      const call = `${this.#repoPath}/commits?${query}&page=${page}`;
      const res = await this.#send({ method: 'GET', path: call, headers: GITHUB_HEADERS });
      const d = this.#parse('GET', `${this.#repoPath}/commits`, res);
      if (!Array.isArray(d)) throw this.#shapeError('GET', `${this.#repoPath}/commits`, 'not a list of commits');
      for (const c of d as { sha?: unknown; commit?: { committer?: { date?: unknown } } }[]) {
        if (typeof c?.sha !== 'string')
          throw this.#shapeError('GET', `${this.#repoPath}/commits`, 'a commit without sha');
        const date = c.commit?.committer?.date;
        out.push({ sha: c.sha, date: typeof date === 'string' ? date : '' });
      }
      if (!/rel="next"/.test(res.headers['link'] ?? '')) return out;
    }
    throw this.#shapeError('GET', `${this.#repoPath}/commits`, `more than 10000 commits changed ${path}`);
  }

  /**
   * The file's sha, and its text when GET contents carries it (files up to 1 MB); undefined
   * when absent. A directory or a submodule at the path is refused.
   */
  async #meta(path: string, branch: string): Promise<{ sha: string; text?: string } | undefined> {
    const d = (await this.#getJson(this.#ref(path, branch), [404], { 'cache-control': 'no-cache' })) as
      | { type?: string; content?: unknown; encoding?: unknown; sha?: unknown; size?: unknown }
      | undefined;
    if (d === undefined) return undefined;
    if (d.type !== 'file' || typeof d.sha !== 'string')
      throw this.#shapeError('GET', this.#contents(path), 'not a file');
    const inline =
      typeof d.content === 'string' &&
      d.encoding !== 'none' &&
      !(d.content === '' && typeof d.size === 'number' && d.size > 0);
    return inline ? { sha: d.sha, text: Buffer.from(d.content as string, 'base64').toString('utf8') } : { sha: d.sha };
  }

  /** GET a JSON document; a status in `absent` means "not there" (undefined). */
  async #getJson(path: string, absent: readonly number[] = [], headers: Record<string, string> = {}): Promise<unknown> {
    const res = await this.#send({
      method: 'GET',
      path,
      headers: { ...GITHUB_HEADERS, ...headers },
      okStatuses: absent,
    });
    if (absent.includes(res.status)) return undefined;
    return this.#parse('GET', path.split('?')[0] ?? path, res);
  }

  #parse(method: string, path: string, res: HttpResponse): unknown {
    try {
      return res.text.trim() === '' ? undefined : JSON.parse(res.text);
    } catch {
      throw this.#shapeError(method, path, 'response is not JSON');
    }
  }

  /**
   * One request, with GitHub's rate limits waited out as GitHub asks (github-limits.ts): a
   * limited request was not carried out, so sending it again is safe. A wait longer than a run
   * waits fails with RateLimitedError naming the time to re-run. A 403 that is not a limit
   * (missing permission) is an error as before.
   */
  async #send(req: HttpRequest): Promise<HttpResponse> {
    const policy = GITHUB_RATE_LIMIT;
    let waited = 0;
    for (let n = 1; ; n++) {
      const res = await this.#http.send({ ...req, okStatuses: [...(req.okStatuses ?? []), 403, 429] });
      if ((res.status !== 403 && res.status !== 429) || req.okStatuses?.includes(res.status)) return res;
      const path = req.path.split('?')[0] ?? req.path;
      const message = redact(githubMessage(res.text).replace(/\s+/g, ' ').trim()).slice(0, 300);
      const limit = rateLimitWait({ status: res.status, headers: res.headers, message }, this.#now(), n, policy);
      if (!limit) {
        const waf = /text\/html/i.test(res.headers['content-type'] ?? '')
          ? 'blocked by a WAF or ingress (HTML 403); check the URL and network path'
          : message;
        throw new HttpError({
          system: 'github',
          method: req.method,
          path,
          status: res.status,
          detail: waf,
          retryable: false,
        });
      }
      const retryAt = new Date(this.#now() + limit.waitMs);
      if (n >= policy.attempts || waited + limit.waitMs > policy.maxRetryAfterMs) {
        throw new RateLimitedError({
          method: req.method,
          path,
          status: res.status,
          retryAt,
          detail:
            `${limit.kind} rate limit${message ? ` (${message})` : ''}; GitHub takes requests again at ${retryAt.toISOString()}, ` +
            `${n >= policy.attempts ? `still limited after ${n - 1} waits` : `${Math.ceil(limit.waitMs / 60_000)} min away, longer than a run waits (${Math.round(policy.maxRetryAfterMs / 60_000)} min in all)`}; re-run after that time`,
        });
      }
      log.info(
        `github: ${limit.kind} rate limit on ${req.method} ${path} (HTTP ${res.status}); waiting ${Math.ceil(limit.waitMs / 1000)} s as GitHub asks (${limit.source})`,
      );
      await this.#sleep(limit.waitMs);
      waited += limit.waitMs;
    }
  }

  /** Each segment encoded on its own: the file path's slashes stay path separators. */
  #contents(path: string): string {
    return `${this.#repoPath}/contents/${path.split('/').map(seg).join('/')}`;
  }

  #ref(path: string, branch: string): string {
    return `${this.#contents(path)}?ref=${encodeURIComponent(branch)}`;
  }

  #shapeError(method: string, path: string, detail: string): HttpError {
    return new HttpError({ system: 'github', method, path, status: 200, detail, retryable: false });
  }
}

export function createRepoFiles(p: RepoFilesParams): RepoFiles & RepoListing {
  return new GithubRepoFiles(p);
}

export function createRepoHistory(p: RepoFilesParams): RepoHistory & Pick<RepoFiles, 'defaultBranch'> {
  return new GithubRepoFiles(p);
}
