import { getExecOutput } from '@actions/exec';
import { realpathSync } from 'node:fs';
import type { RepoHistory } from '../clients/github-contents.js';
import type { Version } from './history-check.js';

/**
 * Where verify reads the evidence branch from: the files, and every committed version of each.
 * The checkout's own git history when it is complete (`fetch-depth: 0`: not shallow, and the
 * evidence branch present), else the REST API. One source for everything, so the files and
 * their history are read at the same commit.
 */
export interface EvidenceSource {
  readonly kind: 'git' | 'rest';
  readonly branch: string;
  /** The commit read (git), when known. */
  readonly commit?: string;
  /** Every file under `root`, repository-relative. */
  files(root: string): Promise<string[]>;
  read(path: string): Promise<string | undefined>;
  /** Every committed version of `path` on the branch, oldest first. */
  versions(path: string): Promise<Version[]>;
}

/** Records are `<root>/<fleet>/<name>.json` and recurring cycles `<root>/<fleet>/<name>/<cycle>.json`. */
export const MAX_DEPTH = 3;

type Git = (args: string[]) => Promise<{ code: number; stdout: string }>;

function gitIn(dir: string): Git {
  return async (args) => {
    // Paths come from the evidence branch (whoever pushes there names them): literal, never a glob.
    const r = await getExecOutput('git', ['--literal-pathspecs', ...args], {
      cwd: dir,
      silent: true,
      ignoreReturnCode: true,
    });
    return { code: r.exitCode, stdout: r.stdout };
  };
}

/**
 * The checkout at `workspace` when its history is complete and holds `branch` (as the remote's
 * `origin/<branch>` or a local branch); undefined otherwise (no git, not a repository, shallow,
 * branch not fetched), and `why` says which.
 */
export async function openGitSource(
  workspace: string,
  branch: string,
): Promise<{ source?: EvidenceSource; why?: string }> {
  const git = gitIn(workspace);
  let top: { code: number; stdout: string };
  try {
    top = await git(['rev-parse', '--show-toplevel']);
  } catch {
    return { why: 'git is not installed' };
  }
  if (top.code !== 0) return { why: 'the workspace is not a git checkout' };
  if (realpathSync(top.stdout.trim()) !== realpathSync(workspace))
    return { why: 'the workspace is inside another repository' };
  const shallow = await git(['rev-parse', '--is-shallow-repository']);
  if (shallow.stdout.trim() !== 'false') return { why: 'the checkout is shallow (set fetch-depth: 0)' };
  let ref: string | undefined;
  let commit = '';
  for (const candidate of [`refs/remotes/origin/${branch}`, `refs/heads/${branch}`]) {
    const r = await git(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]);
    if (r.code === 0) {
      ref = candidate;
      commit = r.stdout.trim();
      break;
    }
  }
  if (!ref) return { why: `the checkout does not have branch ${branch}` };
  const show = async (rev: string, path: string): Promise<string | undefined> => {
    const r = await git(['show', `${rev}:${path}`]);
    return r.code === 0 ? r.stdout : undefined;
  };
  return {
    source: {
      kind: 'git',
      branch,
      commit,
      async files(root) {
        const r = await git(['ls-tree', '-r', '--name-only', '-z', commit, '--', root]);
        return r.code === 0 ? r.stdout.split('\0').filter(Boolean) : [];
      },
      read: (path) => show(commit, path),
      async versions(path) {
        // Every commit that changed the file, deletions included, oldest first.
        const r = await git(['log', '--format=%H', '--reverse', '--full-history', commit, '--', path]);
        const shas = r.stdout.split('\n').filter(Boolean);
        const out: Version[] = [];
        for (const sha of shas) out.push({ commit: sha, text: await show(sha, path) });
        return out;
      },
    },
  };
}

/** The REST API: directory listings, list-commits with `path`, and contents at each commit. */
export function restSource(api: RepoHistory, branch: string): EvidenceSource {
  const walk = async (dir: string, depth: number): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await api.list(dir, branch)) {
      if (e.type === 'file') out.push(e.path);
      else if (e.type === 'dir' && depth < MAX_DEPTH) out.push(...(await walk(e.path, depth + 1)));
    }
    return out;
  };
  return {
    kind: 'rest',
    branch,
    files: (root) => walk(root, 1),
    read: async (path) => (await api.read(path, branch))?.text,
    async versions(path) {
      const commits = (await api.commitsOf(path, branch)).reverse();
      const out: Version[] = [];
      for (const c of commits) out.push({ commit: c.sha, text: (await api.read(path, c.sha))?.text });
      return out;
    },
  };
}

/** Candidate record files under `root`: JSON at the depths records and cycles live at. */
export function recordPaths(root: string, files: readonly string[]): string[] {
  const prefix = `${root.replace(/\/+$/, '')}/`;
  return files.filter((f) => {
    if (!f.startsWith(prefix) || !f.endsWith('.json')) return false;
    const depth = f.slice(prefix.length).split('/').length;
    return depth === 2 || depth === 3;
  });
}
