import type { RunInfo } from './evidence/record.js';

/** Who is running (the runner's GITHUB_* variables): recorded on every evidence event and used for the lease. */
export function currentRun(): RunInfo {
  return {
    id: process.env['GITHUB_RUN_ID'] || 'local',
    attempt: Number(process.env['GITHUB_RUN_ATTEMPT'] ?? 1) || 1,
    actor: process.env['GITHUB_ACTOR'] || 'unknown',
    sha: process.env['GITHUB_SHA'] || '',
  };
}

/** pull_request, pull_request_target, pull_request_review, …: never mutate there (spec §2). */
export function isPullRequestEvent(): boolean {
  return (process.env['GITHUB_EVENT_NAME'] ?? '').startsWith('pull_request');
}

export function repository(): { owner: string; repo: string } | undefined {
  const full = process.env['GITHUB_REPOSITORY'] ?? '';
  const [owner, repo] = full.split('/');
  return owner && repo ? { owner, repo } : undefined;
}

export function runUrl(run: RunInfo): string | undefined {
  const server = process.env['GITHUB_SERVER_URL'];
  const repo = process.env['GITHUB_REPOSITORY'];
  return server && repo && run.id !== 'local' ? `${server}/${repo}/actions/runs/${run.id}` : undefined;
}
