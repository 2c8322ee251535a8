/**
 * The evidence writer against GitHub's own limits (issue 12, item 5): a 409 because the branch
 * moved is retried while the file is still ours, a 409 because the file moved is a lost race;
 * rate limits are waited out as GitHub asks, or fail naming when to re-run; a file over 1 MB is
 * read with the raw media type. Driven against the GitHub simulator over loopback HTTP, with a
 * recorded (not real) sleep.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@actions/core', () => ({ setSecret: vi.fn(), info: vi.fn(), warning: vi.fn(), debug: vi.fn() }));

const { GithubState, githubMutation } = await import('../../sim/github.js');
const { Faults, RequestLog, startServer } = await import('../../sim/http.js');
const { createRepoFiles, createRepoHistory, RateLimitedError, StaleWriteError } = await import(
  '../../src/clients/github-contents.js'
);
const { classifyConflict, gitBlobSha, GITHUB_RATE_LIMIT, rateLimitWait } = await import(
  '../../src/clients/github-limits.js'
);
const { HttpError } = await import('../../src/errors.js');
type GithubLimits = import('../../sim/github.js').GithubLimits;

const TOKEN = 'ghs_unit_test_token_0123456789abcdefABCDEF';
const FILE = '.thoth/evidence/flt-a/rotation.json';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function github(limits: Partial<GithubLimits> = {}) {
  const gh = new GithubState({
    owner: 'acme-corp',
    repo: 'evidence',
    defaultBranch: 'main',
    protectedBranch: false,
    token: TOKEN,
    limits: { headWindowMs: 0, ...limits },
  });
  const log = new RequestLog();
  const faults = new Faults();
  const server = await startServer({
    system: 'github',
    handler: gh.handler,
    log,
    faults,
    latencyMs: 0,
    isMutation: githubMutation,
  });
  gh.setBaseUrl(server.url);
  closers.push(() => server.close());
  const sleeps: number[] = [];
  let onSleep: (ms: number) => void = () => undefined;
  const files = createRepoFiles({
    token: TOKEN,
    owner: 'acme-corp',
    repo: 'evidence',
    apiUrl: server.url,
    sleep: async (ms) => (sleeps.push(ms), onSleep(ms)),
  });
  const puts = () => log.entries().filter((e) => e.method === 'PUT');
  const gets = () => log.entries().filter((e) => e.method === 'GET');
  return {
    gh,
    log,
    faults,
    files,
    sleeps,
    puts,
    gets,
    url: server.url,
    whenSleeping: (f: (ms: number) => void) => (onSleep = f),
  };
}

const write = (files: Awaited<ReturnType<typeof github>>['files'], text: string, sha?: string) =>
  files.write({ path: FILE, branch: 'main', text, sha, message: 'test' });

describe('classifyConflict', () => {
  it("tells a moved file from a moved branch by GitHub's words", () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    expect(classifyConflict(`${FILE} does not match ${a}`)).toBe('file-moved');
    expect(classifyConflict(`is at ${a} but expected ${b}`)).toBe('branch-moved');
    expect(classifyConflict(`refs/heads/main is at ${a} but expected ${b}`)).toBe('branch-moved');
    expect(classifyConflict(`refs/heads/main expected to be at ${b}`)).toBe('branch-moved');
    expect(classifyConflict('Git Repository is empty.')).toBe('unknown');
    // A path cannot pass for "the file moved": the sha must end the message.
    expect(classifyConflict(`is at ${a} but expected ${b} (.thoth/x does not match ${a}/y)`)).toBe('branch-moved');
  });
});

describe('rateLimitWait', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const no = () => 0;
  it('waits retry-after seconds on a secondary limit (403 or 429)', () => {
    expect(
      rateLimitWait(
        { status: 403, headers: { 'retry-after': '60' }, message: 'You have exceeded a secondary rate limit.' },
        now,
        1,
        GITHUB_RATE_LIMIT,
        no,
      ),
    ).toEqual({ waitMs: 60_000, source: 'retry-after', kind: 'secondary' });
    expect(
      rateLimitWait({ status: 429, headers: { 'retry-after': '7' }, message: '' }, now, 1, GITHUB_RATE_LIMIT, no)
        ?.waitMs,
    ).toBe(7_000);
  });
  it('waits until x-ratelimit-reset when x-ratelimit-remaining is 0', () => {
    const reset = String(now / 1000 + 300);
    expect(
      rateLimitWait(
        {
          status: 403,
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
          message: 'API rate limit exceeded for installation.',
        },
        now,
        1,
        GITHUB_RATE_LIMIT,
        no,
      ),
    ).toEqual({ waitMs: 300_000, source: 'x-ratelimit-reset', kind: 'primary' });
    expect(
      rateLimitWait(
        {
          status: 429,
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
          message: 'You have exceeded a secondary rate limit.',
        },
        now,
        1,
        GITHUB_RATE_LIMIT,
        no,
      )?.kind,
    ).toBe('secondary');
  });
  it('without headers waits at least a minute, doubling', () => {
    const a = {
      status: 403,
      headers: {},
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
    };
    expect(rateLimitWait(a, now, 1, GITHUB_RATE_LIMIT, no)?.waitMs).toBe(60_000);
    expect(rateLimitWait(a, now, 3, GITHUB_RATE_LIMIT, no)?.waitMs).toBe(240_000);
    expect(rateLimitWait(a, now, 9, GITHUB_RATE_LIMIT, no)?.waitMs).toBe(600_000);
  });
  it('a 403 for a missing permission is not a limit', () => {
    expect(
      rateLimitWait(
        {
          status: 403,
          headers: { 'x-ratelimit-remaining': '4999' },
          message: 'Resource not accessible by integration',
        },
        now,
        1,
        GITHUB_RATE_LIMIT,
        no,
      ),
    ).toBeUndefined();
  });
});

/** The next contents PUT is answered with this status, headers and JSON body instead of being carried out. */
function answerNextPut(
  t: Awaited<ReturnType<typeof github>>,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  t.faults.add({
    system: 'github',
    method: 'PUT',
    path: /contents/,
    times: 1,
    respond: { status, headers: { 'content-type': 'application/json', ...headers }, body },
  });
}

describe('RepoFiles.write: branch-head conflicts', () => {
  it('retries while the file is still ours: the branch moved because another file changed', async () => {
    const t = await github();
    t.gh.injectHeadMoves(3);
    const r = await write(t.files, 'one');
    expect(t.gh.file(FILE)).toBe('one');
    expect(r.sha).toBe(gitBlobSha(Buffer.from('one')));
    expect(t.gh.stats.headConflicts).toBe(3);
    expect(t.puts().map((e) => e.status)).toEqual([409, 409, 409, 201]);
    expect(t.sleeps).toHaveLength(3);
    // Jittered, growing backoff.
    expect(t.sleeps[2]!).toBeGreaterThanOrEqual(500);
    // An update (sha given) too.
    t.gh.injectHeadMoves(1);
    await write(t.files, 'two', r.sha);
    expect(t.gh.file(FILE)).toBe('two');
  });

  it('a moved file is a lost race: StaleWriteError, not retried', async () => {
    const t = await github();
    const r = await write(t.files, 'one');
    // Another run writes the same file while our PUT is in flight.
    t.gh.beforeRefUpdate = ({ path }) => {
      t.gh.beforeRefUpdate = undefined;
      t.gh.putFile(path, 'theirs');
    };
    await expect(write(t.files, 'ours', r.sha)).rejects.toBeInstanceOf(StaleWriteError);
    expect(t.gh.file(FILE)).toBe('theirs');
    expect(
      t
        .puts()
        .slice(1)
        .map((e) => e.status),
    ).toEqual([409]);
    expect(t.sleeps).toEqual([]);
  });

  it('"does not match" is decided without re-reading', async () => {
    const t = await github();
    await write(t.files, 'one');
    const before = t.gets().length;
    await expect(write(t.files, 'two', 'f'.repeat(40))).rejects.toBeInstanceOf(StaleWriteError);
    expect(t.gh.stats.staleFile).toBe(1);
    expect(t.gets().length).toBe(before);
  });

  it('a create that finds the file created meanwhile is a lost race', async () => {
    const t = await github();
    t.gh.beforeRefUpdate = ({ path }) => {
      t.gh.beforeRefUpdate = undefined;
      t.gh.putFile(path, 'theirs');
    };
    await expect(write(t.files, 'ours')).rejects.toBeInstanceOf(StaleWriteError);
  });

  it('an unknown 409 is retried only while the file is unchanged', async () => {
    const t = await github();
    answerNextPut(t, 409, {}, '{"message":"Reference update failed"}');
    await write(t.files, 'one');
    expect(t.puts().map((e) => e.status)).toEqual([409, 201]);
  });

  it('gives up after bounded attempts when the branch keeps moving, as an error that is not a lost race', async () => {
    const t = await github();
    t.gh.injectHeadMoves(50);
    const e = await write(t.files, 'one').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).not.toBeInstanceOf(StaleWriteError);
    expect(String(e)).toMatch(/kept moving under 10 attempts/);
    expect(t.puts()).toHaveLength(10);
  });
});

describe('RepoFiles: rate limits', () => {
  it('waits retry-after on a 403 secondary limit, then writes', async () => {
    const t = await github({ contentBudgets: [{ limit: 1, windowMs: 60_000 }] });
    const r = await write(t.files, 'one');
    t.whenSleeping(() => t.gh.resetBudgets());
    await write(t.files, 'two', r.sha);
    expect(t.gh.file(FILE)).toBe('two');
    expect(t.gh.stats.rateLimited).toBe(1);
    expect(t.sleeps).toHaveLength(1);
    expect(t.sleeps[0]!).toBeGreaterThanOrEqual(59_000);
    expect(t.sleeps[0]!).toBeLessThanOrEqual(66_000);
  });

  it('waits until x-ratelimit-reset on a 429 with x-ratelimit-remaining: 0', async () => {
    const t = await github({ contentBudgets: [{ limit: 1, windowMs: 30_000 }], limitStyle: 'reset' });
    const r = await write(t.files, 'one');
    t.whenSleeping(() => t.gh.resetBudgets());
    await write(t.files, 'two', r.sha);
    expect(t.log.entries().filter((e) => e.status === 429)).toHaveLength(1);
    expect(t.sleeps[0]!).toBeGreaterThanOrEqual(28_000);
    expect(t.sleeps[0]!).toBeLessThanOrEqual(35_000);
  });

  it('waits at least a minute on a secondary limit that names no time (no retry-after, budget not spent)', async () => {
    // GitHub: "Otherwise, wait for at least one minute before retrying" (Exceeding the rate limit).
    const t = await github();
    answerNextPut(
      t,
      429,
      { 'x-ratelimit-remaining': '4999' },
      JSON.stringify({
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      }),
    );
    await write(t.files, 'one');
    expect(t.gh.file(FILE)).toBe('one');
    expect(t.log.entries().filter((e) => e.status === 429)).toHaveLength(1);
    expect(t.sleeps).toHaveLength(1);
    expect(t.sleeps[0]!).toBeGreaterThanOrEqual(60_000);
    expect(t.sleeps[0]!).toBeLessThanOrEqual(66_000);
  });

  it('a wait longer than a run waits fails at once, saying when to re-run', async () => {
    const t = await github({ contentBudgets: [{ limit: 1, windowMs: 3_600_000 }] });
    const r = await write(t.files, 'one');
    const e = await write(t.files, 'two', r.sha).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimitedError);
    const retryAt = (e as InstanceType<typeof RateLimitedError>).retryAt.getTime();
    expect(retryAt).toBeGreaterThan(Date.now() + 3_500_000);
    expect(String(e)).toMatch(/secondary rate limit .*GitHub takes requests again at \d{4}-.*re-run after that time/);
    expect(t.sleeps).toEqual([]);
    expect(t.puts()).toHaveLength(2);
  });

  it('a limit that does not lift is given up after bounded waits', async () => {
    const t = await github({ contentBudgets: [{ limit: 1, windowMs: 60_000 }] });
    const r = await write(t.files, 'one');
    const e = await write(t.files, 'two', r.sha).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimitedError);
    // 10 min in all: the 60 s retry-after (plus jitter) fits nine times at most.
    expect(t.sleeps.length).toBeGreaterThanOrEqual(7);
    expect(t.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(GITHUB_RATE_LIMIT.maxRetryAfterMs);
  });

  it('a 403 that is not a limit is an error, not a wait; reads wait too', async () => {
    const t = await github();
    t.faults.add({
      system: 'github',
      method: 'GET',
      path: /contents/,
      times: 1,
      respond: {
        status: 403,
        headers: { 'content-type': 'application/json', 'x-ratelimit-remaining': '4999' },
        body: '{"message":"Resource not accessible by integration"}',
      },
    });
    await expect(t.files.read(FILE, 'main')).rejects.toThrow(/HTTP 403 .*Resource not accessible by integration/);
    expect(t.sleeps).toEqual([]);
    t.faults.add({
      system: 'github',
      method: 'GET',
      path: /contents/,
      times: 1,
      respond: {
        status: 429,
        headers: { 'content-type': 'application/json', 'retry-after': '2' },
        body: '{"message":"You have exceeded a secondary rate limit."}',
      },
    });
    expect(await t.files.read(FILE, 'main')).toBeUndefined();
    expect(t.sleeps).toHaveLength(1);
  });
});

describe('RepoFiles.read: files over 1 MB', () => {
  it('reads them with the raw media type and checks the bytes against the sha', async () => {
    const t = await github();
    const big = JSON.stringify({ pad: 'é'.repeat(700_000) });
    t.gh.putFile(FILE, big);
    const r = await t.files.read(FILE, 'main');
    expect(r?.text).toBe(big);
    expect(r?.sha).toBe(gitBlobSha(Buffer.from(big)));
    expect(t.gh.stats).toMatchObject({ contentOmitted: 1, rawReads: 1 });
    expect(t.gets().at(-1)?.headers['accept']).toBe('application/vnd.github.raw+json');
    // A small file is read inline, in one request.
    t.gh.putFile(FILE, 'small');
    expect((await t.files.read(FILE, 'main'))?.text).toBe('small');
    expect(t.gh.stats.rawReads).toBe(1);
  });
});

describe('history for verify mode (list-commits by path, contents at a commit, listings)', () => {
  it('pages through every commit of a file, newest first, and reads each version and listing', async () => {
    const { gh, log, url } = await github();
    for (let i = 0; i < 130; i++) gh.putFile(FILE, `v${i}\n`);
    gh.putFile('.thoth/other.txt', 'other\n');
    const history = createRepoHistory({ token: TOKEN, owner: 'acme-corp', repo: 'evidence', apiUrl: url });
    const commits = await history.commitsOf(FILE, 'main');
    expect(commits).toHaveLength(130);
    // Two pages of (at most) 100, following the link header.
    expect(log.entries().filter((e) => e.path.endsWith('/commits'))).toHaveLength(2);
    expect((await history.read(FILE, commits.at(-1)!.sha))?.text).toBe('v0\n');
    expect((await history.read(FILE, commits[0]!.sha))?.text).toBe('v129\n');
    expect(await history.list('.thoth', 'main')).toEqual([
      { type: 'dir', path: '.thoth/evidence' },
      { type: 'file', path: '.thoth/other.txt' },
    ]);
    expect(await history.list('.thoth/nothing', 'main')).toEqual([]);
    expect(log.entries().every((e) => e.method === 'GET')).toBe(true);
  });
});

describe('RepoFiles.listFiles: the cycle folder of a recurring intent', () => {
  it('names the files directly in the folder, leaves sub-folders out, and is empty for a folder that does not exist', async () => {
    const t = await github();
    const dir = '.thoth/evidence/flt-a/policy';
    expect(await t.files.listFiles(dir, 'main')).toEqual([]);
    for (const p of [`${dir}/20261207T090503Z.json`, `${dir}/20261001T120000Z.json`, `${dir}/old/x.json`])
      await t.files.write({ path: p, branch: 'main', text: '{}', sha: undefined, message: 'test' });
    expect((await t.files.listFiles(dir, 'main')).sort()).toEqual(['20261001T120000Z.json', '20261207T090503Z.json']);
  });

  it('a file where the folder should be is refused, not read as an empty folder', async () => {
    const t = await github();
    await write(t.files, 'one');
    await expect(t.files.listFiles(FILE, 'main')).rejects.toThrow(/not a folder/);
  });
});
