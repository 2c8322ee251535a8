import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';

let s: Simulators | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

function gh(sims: Simulators, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${sims.urls.github}/repos/${sims.creds.owner}/${sims.creds.repo}${path}`, {
    ...init,
    headers: {
      authorization: `token ${sims.creds.githubToken}`,
      accept: 'application/vnd.github+json',
      'user-agent': 'octokit-test',
      ...(init.headers as Record<string, string>),
    },
  });
}

function put(sims: Simulators, path: string, body: Record<string, unknown>): Promise<Response> {
  return gh(sims, `/contents/${path}`, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

const b64 = (t: string): string => Buffer.from(t).toString('base64');

describe('github sim', () => {
  it('rejects bad credentials and serves the repository', async () => {
    s = await startSimulators();
    const bad = await fetch(`${s.urls.github}/repos/${s.creds.owner}/${s.creds.repo}`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ message: 'Bad credentials' });
    const repo = (await (await gh(s, '')).json()) as Record<string, unknown>;
    expect(repo).toMatchObject({ full_name: `${s.creds.owner}/${s.creds.repo}`, default_branch: 'main' });
  });

  it('creates (201), reads with a real git blob sha, and updates (200) with the sha', async () => {
    s = await startSimulators();
    const path = '.thoth/evidence/flt/rot.json';
    const text = '{"a":1}\n'.repeat(20);
    const created = await put(s, encodeURIComponent(path), { message: 'evidence: create', content: b64(text) });
    expect(created.status).toBe(201);
    const sha = createHash('sha1')
      .update(`blob ${Buffer.byteLength(text)}\0${text}`)
      .digest('hex');
    expect(((await created.json()) as { content: { sha: string } }).content.sha).toBe(sha);

    const got = (await (await gh(s, `/contents/${path}?ref=main`)).json()) as Record<string, string>;
    expect(got).toMatchObject({ type: 'file', name: 'rot.json', path, sha, encoding: 'base64' });
    expect(got['content']?.split('\n').every((l) => l.length <= 60)).toBe(true);
    expect(Buffer.from(got['content'] ?? '', 'base64').toString()).toBe(text);

    const upd = await put(s, path, { message: 'evidence: update', content: b64('v2'), sha, branch: 'main' });
    expect(upd.status).toBe(200);
    const commitSha = ((await upd.json()) as { commit: { sha: string } }).commit.sha;
    expect(s.github.file(path)).toBe('v2');
    const commits = s.github.commits('main');
    expect(commits.map((c) => c.message)).toEqual(['Initial commit', 'evidence: create', 'evidence: update']);
    expect(commits.at(-1)).toMatchObject({ sha: commitSha, files: [{ path, text: 'v2' }] });
  });

  it('answers 422 without sha, 409 on a stale sha, 404 for a missing file or branch', async () => {
    s = await startSimulators();
    s.github.putFile('e.json', 'one');
    const noSha = await put(s, 'e.json', { message: 'm', content: b64('two') });
    expect(noSha.status).toBe(422);
    expect(((await noSha.json()) as { message: string }).message).toBe('Invalid request.\n\n"sha" wasn\'t supplied.');
    const stale = await put(s, 'e.json', { message: 'm', content: b64('two'), sha: 'f'.repeat(40) });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { message: string }).message).toContain('does not match');
    expect((await gh(s, '/contents/nope.json')).status).toBe(404);
    const nb = await put(s, 'x.json', { message: 'm', content: b64('x'), branch: 'evidence' });
    expect(nb.status).toBe(404);
    expect(((await nb.json()) as { message: string }).message).toBe('Branch evidence not found');
    expect(s.github.file('e.json')).toBe('one');
  });

  it('refuses writes to a protected branch with 409 and writes to another branch', async () => {
    s = await startSimulators({ github: { protectedBranch: true } });
    const r = await put(s, 'a.json', { message: 'm', content: b64('x') });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { message: string }).message).toBe('Changes must be made through a pull request.');
    s.github.createBranch('evidence');
    expect((await put(s, 'a.json', { message: 'm', content: b64('x'), branch: 'evidence' })).status).toBe(201);
    expect(s.github.file('a.json', 'evidence')).toBe('x');
    expect(s.github.file('a.json', 'main')).toBeUndefined();
  });

  it('lists a directory and counts only contents PUTs as mutations', async () => {
    s = await startSimulators();
    s.log.clear();
    await put(s, 'dir/a.json', { message: 'a', content: b64('a') });
    await put(s, 'dir/sub/b.json', { message: 'b', content: b64('b') });
    const list = (await (await gh(s, '/contents/dir')).json()) as { type: string; path: string }[];
    expect(list.map((e) => [e.type, e.path])).toEqual([
      ['file', 'dir/a.json'],
      ['dir', 'dir/sub'],
    ]);
    expect(s.log.mutations().map((e) => e.method)).toEqual(['PUT', 'PUT']);
  });
});
