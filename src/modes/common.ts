import { createRepoFiles, type RepoFiles, type RepoListing } from '../clients/github-contents.js';
import { log } from '../log.js';
import type { Settings } from '../settings.js';
import { repository } from '../run-info.js';
import type { Adapters, AdapterFactory } from '../adapters.js';
import type { Intent } from '../intent/types.js';
import type { RotationOutcome } from '../rotation/context.js';

/** The evidence repository: files API plus the branch records live on. */
export interface EvidenceRepo {
  readonly files: RepoFiles & RepoListing;
  readonly branch: string;
}

export async function openEvidenceRepo(settings: Settings): Promise<EvidenceRepo | undefined> {
  const repo = repository();
  if (!settings.githubToken || !repo) return undefined;
  const files = createRepoFiles({
    token: settings.githubToken,
    ...repo,
    ...(process.env['GITHUB_API_URL'] ? { apiUrl: process.env['GITHUB_API_URL'] } : {}),
  });
  const branch = settings.evidenceBranch ?? (await files.defaultBranch());
  return { files, branch };
}

/** What a mode returns to main: per-intent outcomes plus run-level facts. */
export interface ModeResult {
  readonly outcomes: RotationOutcome[];
  readonly notes: string[];
  readonly matrix?: { include: { intent: string; fleet: string }[] };
}

/** Run `fn` for one intent inside a log group, with adapters closed afterwards. */
export async function withIntent<T>(
  settings: Settings,
  intent: Intent,
  factory: AdapterFactory,
  fn: (a: Adapters) => Promise<T>,
): Promise<T> {
  log.startGroup(`${intent.name} (fleet ${intent.fleet.id}, ${intent.mdm.provider})`);
  const adapters = await factory(settings, intent);
  try {
    return await fn(adapters);
  } finally {
    await adapters.close();
    log.endGroup();
  }
}
