/**
 * GitHub REST simulator: the repository and contents API the action commits evidence with.
 * Blob shas are real git blob sha1s so clients computing them locally agree with the server.
 *
 * GitHub's own limits are modelled as the real service has them (see `GithubLimits`): a PUT
 * commits on the branch head and loses to any commit that landed while it was in flight, even
 * to another file; content-creating requests have a per-minute and a per-hour budget; a file
 * over 1 MB comes back from GET contents without its content.
 */
import { delay, json, parseJson, type Handler, type SimRequest, type SimResponse } from './http.js';
import { b64Bytes, isRecord, sha1Hex } from './util.js';

/** One content-creation budget: at most `limit` commits in any `windowMs`. */
export interface ContentBudget {
  limit: number;
  windowMs: number;
}

export interface GithubLimits {
  /**
   * How long a PUT holds the branch head it read before updating the ref (a real PUT builds the
   * blob, tree and commit in between). A commit landing meanwhile, to any file, makes it fail
   * with 409 "is at <head> but expected <parent>" (PyGithub#1787, octokit.net#2365,
   * integrations/terraform-provider-github#2909: parallel writes to different files of one
   * branch). Default 20 ms.
   */
  headWindowMs: number;
  /**
   * Secondary limits on content-creating requests (docs.github.com "Rate limits for the REST
   * API", About secondary rate limits: "no more than 80 content-generating requests per minute
   * and no more than 500 content-generating requests per hour"). Default: exactly those.
   */
  contentBudgets: ContentBudget[];
  /**
   * How a limited request is answered ("Exceeding the rate limit": 403 or 429 and a message
   * saying it is a secondary limit; `retry-after` when present, else `x-ratelimit-remaining: 0`
   * with `x-ratelimit-reset`): `retry-after` = 403 + retry-after seconds; `reset` = 429 +
   * x-ratelimit-remaining 0 + x-ratelimit-reset epoch seconds. Default `retry-after`.
   */
  limitStyle: 'retry-after' | 'reset';
}

export const GITHUB_LIMITS: GithubLimits = {
  headWindowMs: 20,
  contentBudgets: [
    { limit: 80, windowMs: 60_000 },
    { limit: 500, windowMs: 3_600_000 },
  ],
  limitStyle: 'retry-after',
};

/**
 * GET contents serves a file's content only up to 1 MB: github/rest-api-description
 * (api.github.com.2022-11-28.yaml, `/repos/{owner}/{repo}/contents/{path}` get): "Between 1-100
 * MB: Only the raw or object custom media types are supported … the `content` field will be an
 * empty string and the `encoding` field will be "none". To get the contents of these larger
 * files, use the raw media type." (1 MB read as 1 MiB.)
 */
export const CONTENT_INLINE_MAX = 1024 * 1024;

export interface GithubConfig {
  owner: string;
  repo: string;
  defaultBranch: string;
  protectedBranch: boolean;
  token: string;
  limits?: Partial<GithubLimits>;
}

/** What the simulated GitHub answered, for tests and the bench (judge from the server's side). */
export interface GithubStats {
  /** PUTs refused because the branch moved while they were in flight ("is at … but expected …"). */
  headConflicts: number;
  /** PUTs refused because the file's blob sha was not the one sent ("does not match"). */
  staleFile: number;
  /** Requests answered with a secondary rate limit. */
  rateLimited: number;
  /** GET contents answered without content (file over 1 MB, JSON media type). */
  contentOmitted: number;
  /** GET contents answered with the raw media type. */
  rawReads: number;
}

export interface CommitInfo {
  sha: string;
  branch: string;
  message: string;
  path: string;
  blobSha: string;
  parent: string | null;
  at: Date;
  /** Files the commit changed, decoded (one per commit with the contents API). */
  files: { path: string; text: string }[];
}

interface Commit extends Omit<CommitInfo, 'files'> {
  tree: Map<string, Buffer>;
}

const DOCS = 'https://docs.github.com/rest/repos/contents#create-or-update-file-contents';

function info(c: Commit): CommitInfo {
  const { tree, ...rest } = c;
  return { ...rest, files: [{ path: c.path, text: tree.get(c.path)?.toString('utf8') ?? '' }] };
}

export function blobSha(content: Buffer): string {
  return sha1Hex(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
}

function gh(status: number, message: string, extra: Record<string, unknown> = {}): SimResponse {
  return json(status, { message, documentation_url: DOCS, status: String(status), ...extra });
}

export class GithubState {
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  private readonly cfg: GithubConfig;
  private readonly commitsBySha = new Map<string, Commit>();
  private readonly heads = new Map<string, string>();
  private readonly protectedBranches = new Set<string>();
  private seq = 0;
  private baseUrl = '';
  /** When each content-creating request succeeded (for the budgets). */
  private created: number[] = [];
  private pendingHeadMoves = 0;
  limits: GithubLimits;
  readonly stats: GithubStats = { headConflicts: 0, staleFile: 0, rateLimited: 0, contentOmitted: 0, rawReads: 0 };
  /**
   * Test hook: called while a PUT holds the head it read, before the ref update (after the
   * file's sha was checked). Whatever it commits makes that PUT lose the ref update.
   */
  beforeRefUpdate: ((p: { path: string; branch: string }) => void) | undefined;

  constructor(cfg: GithubConfig) {
    this.cfg = cfg;
    this.limits = { ...GITHUB_LIMITS, ...cfg.limits };
    this.owner = cfg.owner;
    this.repo = cfg.repo;
    this.defaultBranch = cfg.defaultBranch;
    const readme = Buffer.from(`# ${cfg.repo}\n\nThoth key rotation intents and evidence.\n`);
    this.commit(cfg.defaultBranch, null, 'Initial commit', 'README.md', readme);
    if (cfg.protectedBranch) this.protectedBranches.add(cfg.defaultBranch);
  }

  /** @internal */
  setBaseUrl(url: string): void {
    this.baseUrl = url;
  }

  // ---- test API -------------------------------------------------------------------------
  /** Commits on a branch, oldest first (default: the default branch). */
  commits(branch = this.defaultBranch): CommitInfo[] {
    const out: CommitInfo[] = [];
    for (let sha = this.heads.get(branch); sha; ) {
      const c = this.commitsBySha.get(sha);
      if (!c) break;
      out.push(info(c));
      sha = c.parent ?? undefined;
    }
    return out.reverse();
  }
  /** Every commit on any branch (also ones a branch no longer reaches), in creation order: for leak scans. */
  allCommits(): CommitInfo[] {
    return [...this.commitsBySha.values()].map(info);
  }
  /** Decoded text of a file at a branch head, or undefined. */
  file(path: string, branch = this.defaultBranch): string | undefined {
    return this.tree(branch)?.get(path)?.toString('utf8');
  }
  paths(branch = this.defaultBranch): string[] {
    return [...(this.tree(branch)?.keys() ?? [])].sort();
  }
  putFile(path: string, text: string, opts: { branch?: string; message?: string } = {}): CommitInfo {
    const branch = opts.branch ?? this.defaultBranch;
    return info(
      this.commit(branch, this.heads.get(branch) ?? null, opts.message ?? `Update ${path}`, path, Buffer.from(text)),
    );
  }
  /**
   * Force-push: the branch points at `sha` (an earlier commit), as `git push --force` after a
   * reset would leave it; commits after it are no longer reachable from the branch.
   */
  resetBranch(branch: string, sha: string): void {
    if (!this.commitsBySha.has(sha)) throw new Error(`resetBranch: no commit ${sha}`);
    this.heads.set(branch, sha);
  }
  createBranch(name: string, from = this.defaultBranch): void {
    const head = this.heads.get(from);
    if (head) this.heads.set(name, head);
  }
  protect(branch: string, on = true): void {
    if (on) this.protectedBranches.add(branch);
    else this.protectedBranches.delete(branch);
  }
  /**
   * The next `n` PUTs find the branch moved while they were in flight: another writer commits
   * to `.thoth/concurrent-writer.txt` (a different file) just before their ref update.
   */
  injectHeadMoves(n: number): void {
    this.pendingHeadMoves += n;
  }
  setLimits(limits: Partial<GithubLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }
  /** Forget the content created so far (a new hour for the budgets). */
  resetBudgets(): void {
    this.created = [];
  }
  /** Times (ms) at which content-creating requests succeeded, oldest first. */
  contentCreatedAt(): number[] {
    return [...this.created];
  }

  private tree(branch: string): Map<string, Buffer> | undefined {
    const head = this.heads.get(branch);
    return head ? this.commitsBySha.get(head)?.tree : undefined;
  }
  private commit(branch: string, parent: string | null, message: string, path: string, content: Buffer): Commit {
    const tree = new Map(parent ? this.commitsBySha.get(parent)?.tree : undefined);
    tree.set(path, content);
    const bsha = blobSha(content);
    const sha = sha1Hex(`commit ${parent ?? ''} ${branch} ${path} ${bsha} ${++this.seq}\n${message}`);
    const c: Commit = { sha, branch, message, path, blobSha: bsha, parent, at: new Date(), tree };
    this.commitsBySha.set(sha, c);
    this.heads.set(branch, sha);
    return c;
  }

  // ---- HTTP -----------------------------------------------------------------------------
  handler: Handler = async (req) => {
    const out = await this.route(req);
    out.headers = {
      'x-github-request-id': `SIM:${this.seq}:${Date.now().toString(16)}`,
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-resource': 'core',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      ...out.headers,
    };
    return out;
  };

  private route(req: SimRequest): SimResponse | Promise<SimResponse> {
    const m = /^(?:Bearer|token)\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    if (!req.header('authorization')) return gh(401, 'Requires authentication');
    if (m?.[1] !== this.cfg.token) return gh(401, 'Bad credentials');
    // Split the raw path so an encoded '/' (%2F) inside the file path survives, then decode.
    const raw = req.rawPath.split('/').slice(1);
    if (raw[0] !== 'repos' || raw.length < 3) return gh(404, 'Not Found');
    const [owner, repo] = [decodeURIComponent(raw[1] ?? ''), decodeURIComponent(raw[2] ?? '')];
    if (owner.toLowerCase() !== this.owner.toLowerCase() || repo.toLowerCase() !== this.repo.toLowerCase())
      return gh(404, 'Not Found');
    const rest = raw.slice(3);
    if (rest.length === 0 && req.method === 'GET') return json(200, this.repoJson());
    if (rest[0] === 'branches' && rest.length >= 2 && req.method === 'GET') {
      const name = rest.slice(1).map(decodeURIComponent).join('/');
      const head = this.heads.get(name);
      if (!head) return gh(404, 'Branch not found');
      return json(200, {
        name,
        commit: { sha: head, url: `${this.apiBase()}/commits/${head}` },
        protected: this.protectedBranches.has(name),
      });
    }
    if (rest[0] === 'commits' && rest.length === 1 && req.method === 'GET') return this.listCommits(req.query);
    if (rest[0] === 'contents') {
      const path = rest
        .slice(1)
        .map(decodeURIComponent)
        .join('/')
        .replace(/^\/+|\/+$/g, '');
      if (req.method === 'GET')
        return this.getContents(
          path,
          req.query.get('ref') ?? undefined,
          /application\/vnd\.github\.raw/i.test(req.header('accept') ?? ''),
        );
      if (req.method === 'PUT') return this.putContents(path, req);
    }
    return gh(404, 'Not Found');
  }

  private apiBase(): string {
    return `${this.baseUrl}/repos/${this.owner}/${this.repo}`;
  }

  private repoJson(): Record<string, unknown> {
    const full = `${this.owner}/${this.repo}`;
    return {
      id: 424242,
      node_id: 'R_kgDOsim',
      name: this.repo,
      full_name: full,
      private: true,
      owner: { login: this.owner, id: 4242, type: 'Organization' },
      html_url: `https://github.com/${full}`,
      url: this.apiBase(),
      default_branch: this.defaultBranch,
      visibility: 'private',
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    };
  }

  private entry(path: string, content: Buffer | undefined, ref: string): Record<string, unknown> {
    const name = path.split('/').pop() ?? path;
    const url = `${this.apiBase()}/contents/${path}?ref=${encodeURIComponent(ref)}`;
    const html = `https://github.com/${this.owner}/${this.repo}/blob/${ref}/${path}`;
    if (!content)
      return {
        type: 'dir',
        name,
        path,
        sha: sha1Hex(`tree ${path}`),
        size: 0,
        url,
        html_url: html,
        git_url: null,
        download_url: null,
      };
    const sha = blobSha(content);
    const git = `${this.apiBase()}/git/blobs/${sha}`;
    return {
      type: 'file',
      name,
      path,
      sha,
      size: content.length,
      url,
      html_url: html,
      git_url: git,
      download_url: `https://raw.githubusercontent.com/${this.owner}/${this.repo}/${ref}/${path}`,
      _links: { self: url, git, html },
    };
  }

  private getContents(path: string, ref: string | undefined, raw: boolean): SimResponse {
    const r = ref ?? this.defaultBranch;
    const tree = this.heads.has(r) ? this.tree(r) : this.commitsBySha.get(r)?.tree;
    if (!tree) return gh(404, `No commit found for the ref ${r}`);
    const content = tree.get(path);
    if (content && raw) {
      // "application/vnd.github.raw+json: Returns the raw file contents for files and symlinks."
      this.stats.rawReads++;
      return {
        status: 200,
        headers: { 'content-type': 'application/vnd.github.raw+json; charset=utf-8', etag: `"${blobSha(content)}"` },
        body: content,
      };
    }
    if (content && content.length > CONTENT_INLINE_MAX) {
      this.stats.contentOmitted++;
      return json(200, { ...this.entry(path, content, r), encoding: 'none', content: '' });
    }
    if (content) {
      const b64 = content.toString('base64').replace(/.{60}/g, '$&\n');
      return json(200, {
        ...this.entry(path, content, r),
        encoding: 'base64',
        content: b64.endsWith('\n') ? b64 : `${b64}\n`,
      });
    }
    // A directory: list its direct children, as GitHub does.
    const prefix = path === '' ? '' : `${path}/`;
    const children = new Map<string, Buffer | undefined>();
    for (const [p, c] of tree) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      children.set(prefix + (slash < 0 ? rest : rest.slice(0, slash)), slash < 0 ? c : undefined);
    }
    if (children.size === 0) return gh(404, 'Not Found');
    return json(
      200,
      [...children].sort(([a], [b]) => a.localeCompare(b)).map(([p, c]) => this.entry(p, c, r)),
    );
  }

  /**
   * `GET /repos/{owner}/{repo}/commits` (github/rest-api-description, repos/list-commits): `sha`
   * (branch or commit to start from, default the default branch), `path` (only commits that
   * changed it), `per_page` (default 30, at most 100) and `page`; newest first, paged with a
   * `link` header (rel="next", rel="last"). 409 "Git Repository is empty." is not modelled.
   */
  private listCommits(q: URLSearchParams): SimResponse {
    const from = q.get('sha') || this.defaultBranch;
    const start = this.heads.get(from) ?? (this.commitsBySha.has(from) ? from : undefined);
    if (!start) return gh(404, `No commit found for SHA: ${from}`);
    const path = q.get('path')?.replace(/^\/+|\/+$/g, '');
    const perPage = Math.min(100, Math.max(1, Number(q.get('per_page')) || 30));
    const page = Math.max(1, Number(q.get('page')) || 1);
    const all: Commit[] = [];
    for (let sha: string | null = start; sha; ) {
      const c = this.commitsBySha.get(sha);
      if (!c) break;
      if (!path || c.path === path) all.push(c);
      sha = c.parent;
    }
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const pageUrl = (n: number): string => {
      const u = new URLSearchParams(q);
      u.set('page', String(n));
      u.set('per_page', String(perPage));
      return `<${this.apiBase()}/commits?${u.toString()}>`;
    };
    const links = page < last ? [`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(last)}; rel="last"`] : [];
    return json(
      200,
      slice.map((c) => this.commitJson(c)),
      links.length ? { link: links.join(', ') } : {},
    );
  }

  /** One item of list-commits ("commit" schema, the fields a client reads). */
  private commitJson(c: Commit): Record<string, unknown> {
    const who = {
      name: 'github-actions[bot]',
      email: '41898282+github-actions[bot]@users.noreply.github.com',
      date: c.at.toISOString(),
    };
    return {
      sha: c.sha,
      node_id: `C_${c.sha.slice(0, 12)}`,
      url: `${this.apiBase()}/commits/${c.sha}`,
      html_url: `https://github.com/${this.owner}/${this.repo}/commit/${c.sha}`,
      commit: {
        author: who,
        committer: who,
        message: c.message,
        tree: { sha: sha1Hex(`tree ${c.sha}`), url: `${this.apiBase()}/git/trees/${c.sha}` },
        url: `${this.apiBase()}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
      parents: c.parent ? [{ sha: c.parent, url: `${this.apiBase()}/commits/${c.parent}` }] : [],
    };
  }

  private stale(path: string, sha: string): SimResponse {
    this.stats.staleFile++;
    return gh(409, `${path} does not match ${sha}`);
  }

  /** The time a PUT holds the head it read (GithubLimits.headWindowMs), and the test's interleavings. */
  private async inFlight(path: string, branch: string): Promise<void> {
    await delay(this.limits.headWindowMs);
    if (this.pendingHeadMoves > 0) {
      this.pendingHeadMoves--;
      const head = this.heads.get(branch) ?? null;
      const note = Buffer.from(`another writer, ${new Date().toISOString()} #${this.seq + 1}\n`);
      this.commit(branch, head, 'Concurrent writer (simulated)', '.thoth/concurrent-writer.txt', note);
    }
    this.beforeRefUpdate?.({ path, branch });
  }

  /** 403 or 429 when a content budget is spent (GithubLimits.contentBudgets), else undefined. */
  private overBudget(): SimResponse | undefined {
    const now = Date.now();
    let waitMs = 0;
    for (const b of this.limits.contentBudgets) {
      const inWindow = this.created.filter((t) => t > now - b.windowMs);
      // The oldest commit still counted must leave the window before another fits.
      if (inWindow.length >= b.limit)
        waitMs = Math.max(waitMs, inWindow[inWindow.length - b.limit]! + b.windowMs - now);
    }
    if (waitMs <= 0) return undefined;
    this.stats.rateLimited++;
    const message = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
    const docs =
      'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits';
    if (this.limits.limitStyle === 'reset') {
      return json(
        429,
        { message, documentation_url: docs, status: '429' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil((now + waitMs) / 1000)) },
      );
    }
    return json(
      403,
      { message, documentation_url: docs, status: '403' },
      { 'retry-after': String(Math.ceil(waitMs / 1000)) },
    );
  }

  private async putContents(path: string, req: SimRequest): Promise<SimResponse> {
    const limited = this.overBudget();
    if (limited) return limited;
    const b = parseJson(req);
    if (!isRecord(b)) return gh(400, 'Problems parsing JSON');
    if (path === '') return gh(422, 'Invalid request.\n\n"path" wasn\'t supplied.');
    if (typeof b['message'] !== 'string' || b['message'] === '')
      return gh(422, 'Invalid request.\n\n"message" wasn\'t supplied.');
    if (typeof b['content'] !== 'string') return gh(422, 'Invalid request.\n\n"content" wasn\'t supplied.');
    const content = b64Bytes(b['content']);
    if (!content) return gh(422, 'content is not valid Base64');
    const branch = typeof b['branch'] === 'string' && b['branch'] !== '' ? b['branch'] : this.defaultBranch;
    const head = this.heads.get(branch);
    if (!head) return gh(404, `Branch ${branch} not found`);
    if (this.protectedBranches.has(branch)) return gh(409, 'Changes must be made through a pull request.');
    const existing = this.tree(branch)?.get(path);
    const sha = b['sha'];
    if (existing) {
      if (typeof sha !== 'string' || sha === '') return gh(422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
      if (sha !== blobSha(existing)) return this.stale(path, sha);
    } else if (typeof sha === 'string' && sha !== '') {
      return this.stale(path, sha);
    }
    // The commit is built on `head`; the ref moves only if nobody moved it meanwhile.
    await this.inFlight(path, branch);
    const moved = this.heads.get(branch);
    if (moved !== head) {
      this.stats.headConflicts++;
      return gh(409, `is at ${moved} but expected ${head}`);
    }
    const c = this.commit(branch, head, b['message'], path, content);
    this.created.push(Date.now());
    const who = {
      name: 'github-actions[bot]',
      email: '41898282+github-actions[bot]@users.noreply.github.com',
      date: c.at.toISOString(),
    };
    const commitUrl = `${this.apiBase()}/git/commits/${c.sha}`;
    return json(existing ? 200 : 201, {
      content: this.entry(path, content, branch),
      commit: {
        sha: c.sha,
        node_id: `C_${c.sha.slice(0, 12)}`,
        url: commitUrl,
        html_url: `https://github.com/${this.owner}/${this.repo}/commit/${c.sha}`,
        author: isRecord(b['author']) ? b['author'] : who,
        committer: isRecord(b['committer']) ? b['committer'] : who,
        message: c.message,
        tree: { sha: sha1Hex(`tree ${c.sha}`), url: `${this.apiBase()}/git/trees/${c.sha}` },
        parents: [
          {
            sha: head,
            url: `${this.apiBase()}/git/commits/${head}`,
            html_url: `https://github.com/${this.owner}/${this.repo}/commit/${head}`,
          },
        ],
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
    });
  }
}

export function githubMutation(req: SimRequest): boolean {
  return req.method === 'PUT' && /^\/repos\/[^/]+\/[^/]+\/contents\//.test(req.rawPath);
}
