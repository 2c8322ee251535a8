import { ConfigError, type ConfigProblem } from './errors.js';
import type { Intent } from './intent/types.js';
import type { Settings } from './settings.js';

/**
 * Checks between the inputs and the loaded intents, before any request: the
 * credentials each intent's systems need, and what the mode needs. Throws one
 * ConfigError with every problem.
 *
 * Pass the mode that will actually run: on pull_request events `apply` runs as
 * `plan`, which needs no windows and no github-token.
 */
export function checkRunConfig(
  settings: Settings,
  intents: readonly Intent[],
  mode: Settings['mode'] = settings.mode,
): void {
  const problems: ConfigProblem[] = [];
  const list = (xs: readonly Intent[]): string =>
    xs
      .slice(0, 5)
      .map((i) => i.path)
      .join(', ') + (xs.length > 5 ? `, … (${xs.length} in all)` : '');
  const needs = (provider: 'jamf' | 'intune'): Intent[] => intents.filter((i) => i.mdm.provider === provider);

  // verify reads the MDM only when given its credentials (spec §11.3): without them it says what it did not check.
  const jamf = mode === 'verify' ? [] : needs('jamf');
  if (jamf.length > 0 && !settings.jamf) {
    problems.push({
      file: 'inputs',
      field: 'jamf-client-id',
      problem: `jamf-client-id and jamf-client-secret are not set, but ${jamf.length === 1 ? 'this intent uses' : 'these intents use'} mdm.provider jamf: ${list(jamf)}`,
      fix: 'pass jamf-client-id and jamf-client-secret from secrets (a Jamf Pro API client with profile and computer-group access); secrets are not passed to runs from forks or Dependabot',
    });
  }
  const intune = mode === 'verify' ? [] : needs('intune');
  if (intune.length > 0 && !settings.azure) {
    problems.push({
      file: 'inputs',
      field: 'azure-tenant-id',
      problem: `azure-tenant-id, azure-client-id and azure-client-secret are not set, but ${intune.length === 1 ? 'this intent uses' : 'these intents use'} mdm.provider intune: ${list(intune)}`,
      fix: 'pass the three azure-* inputs of an Entra app with Microsoft Graph access, the secret from a secret; secrets are not passed to runs from forks or Dependabot',
    });
  }

  if (mode === 'apply') {
    for (const i of intents) {
      if (i.window) continue;
      problems.push({
        file: i.path,
        field: 'window',
        problem: 'required in apply mode',
        fix: 'add window with start and end, or schedule and duration, so apply knows when it may change the fleet',
      });
    }
  }
  if ((mode === 'apply' || mode === 'revoke' || mode === 'verify') && !settings.githubToken) {
    problems.push({
      file: 'inputs',
      field: 'github-token',
      problem: `required in ${mode} mode, to ${mode === 'verify' ? 'read evidence and its history' : 'commit evidence'}`,
      fix: 'leave github-token at its default (${{ github.token }}) and grant the job permissions: contents: write, or pass a token that can write contents',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
