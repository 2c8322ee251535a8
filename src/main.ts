import * as core from '@actions/core';
import * as path from 'node:path';
import { type AdapterFactory, createAdapterFactory } from './adapters.js';
import { ConfigError, errorMessage, formatProblem, type ConfigProblem } from './errors.js';
import { AllowedHosts, restrictCredentialsTo } from './http/allowed-hosts.js';
import { loadIntents } from './intent/load.js';
import { log, type AnnotationProperties } from './log.js';
import type { Intent } from './intent/types.js';
import { applyMode } from './modes/apply.js';
import type { ModeResult } from './modes/common.js';
import { planMode } from './modes/plan.js';
import { revokeMode } from './modes/revoke.js';
import { runVerify } from './modes/verify.js';
import { setOutputs, overallStatus, writeSummary } from './outputs.js';
import { isPullRequestEvent } from './run-info.js';
import { checkRunConfig } from './run-config.js';
import { redact } from './secrets.js';
import { readSettings, type Settings } from './settings.js';
import { renderSummary, type EvidenceLinks } from './summary.js';

/**
 * The action: read inputs and intents (every problem reported before any
 * request), run the mode, set outputs, and write the job summary even on failure.
 */
export async function run(factory: AdapterFactory = createAdapterFactory()): Promise<void> {
  let mode = 'plan';
  let result: ModeResult = { outcomes: [], notes: [] };
  let error: string | undefined;
  let problems: string[] = [];
  let loaded: { settings: Settings; intents: Intent[] } | undefined;
  try {
    loaded = await readConfiguration();
    const { settings, intents } = loaded;
    // Before any client exists: no credential may go to a host allowed-hosts does not list.
    restrictCredentialsTo(settings.allowedHosts);
    mode = settings.mode;
    // verify only reads, so it runs as asked on pull requests too.
    if (mode !== 'plan' && mode !== 'verify' && isPullRequestEvent()) {
      result.notes.push(
        `${mode} requested on a ${process.env['GITHUB_EVENT_NAME']} event: ran plan instead (nothing is mutated from pull requests)`,
      );
      log.warning(result.notes[0]!);
      mode = 'plan';
    }
    checkRunConfig(settings, intents, mode as Settings['mode']);
    if (mode === 'verify') return await runVerify(settings, intents, factory, workspaceDir());
    const notes = result.notes;
    result =
      mode === 'apply'
        ? await applyMode(settings, intents, factory)
        : mode === 'revoke'
          ? await revokeMode(settings, intents, factory)
          : await planMode(settings, intents, factory);
    result.notes.unshift(...notes);
    setOutputs(mode, result, settings.exposeKey);
  } catch (e) {
    error = redact(errorMessage(e));
    core.setOutput('status', 'failed');
    if (e instanceof ConfigError) {
      // Each problem is its own annotation, on its file and line; the failure line counts them
      // instead of repeating them, and the summary lists them.
      for (const p of e.problems) log.error(`${p.field}: ${p.problem} (${p.fix})`, annotationOf(p));
      problems = e.problems.map((p) => redact(formatProblem(p)));
      error = `${e.problems.length} configuration problem${e.problems.length === 1 ? '' : 's'} (see annotations)`;
    }
  }
  const status = error ? 'failed' : overallStatus(mode, result.outcomes);
  if (status === 'failed' || status === 'rolled-back') {
    log.fail(
      `thoth-rotate failed: ${
        error ??
        result.outcomes
          .filter((o) => o.status === 'failed' || o.status === 'rolled-back')
          .map((o) => `${o.name}: ${redact(o.message)}`)
          .join('; ')
      }`,
    );
  }
  await writeSummary(
    renderSummary({
      title: 'thoth-rotate',
      mode,
      status,
      outcomes: result.outcomes,
      notes: result.notes,
      error,
      problems,
      evidenceLinks: (p, commit) => evidenceLinks(p, commit, loaded?.settings.evidenceBranch),
      minHealthy: (name) => loaded?.intents.find((i) => i.name === name)?.validation.minHealthy,
    }),
  );
}

/**
 * Where a configuration problem is shown: on the intent's file and line, or, for an action
 * input (no file of ours: the input is set in the caller's workflow), as a titled annotation
 * without a file.
 */
function annotationOf(p: ConfigProblem): AnnotationProperties {
  if (p.file === 'inputs') return { title: `thoth-rotate input ${p.field}` };
  return {
    file: p.file,
    ...(p.line ? { startLine: p.line } : {}),
    ...(p.col ? { startColumn: p.col } : {}),
    title: `thoth-rotate intent ${p.field}`,
  };
}

/** Inputs and intents are checked together, so one run reports every problem of both. */
async function readConfiguration(): Promise<{ settings: Settings; intents: Intent[] }> {
  const problems: ConfigProblem[] = [];
  let settings: Settings | undefined;
  let intents: Intent[] = [];
  try {
    settings = readSettings();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const workspace = workspaceDir();
  // With problems in other inputs the intents and their hosts are still checked, so one run
  // reports everything; an intents input that is itself wrong (absolute, "..") is not opened.
  // (A wrong allowed-hosts entry is reported as such, not again as a host problem of each intent.)
  const fallback = settings ? undefined : AllowedHosts.parse(core.getInput('allowed-hosts'));
  const allowedHosts = settings?.allowedHosts ?? (fallback?.problems.length === 0 ? fallback.hosts : undefined);
  if (!problems.some((p) => p.field === 'intents')) {
    try {
      intents = await loadIntents(
        path.resolve(workspace, settings?.intents ?? (core.getInput('intents') || '.thoth/rotations')),
        { workspace, ...(allowedHosts && { allowedHosts }) },
      );
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0 || !settings) throw new ConfigError(problems);
  return { settings, intents };
}

function workspaceDir(): string {
  return process.env['GITHUB_WORKSPACE'] || process.cwd();
}

/** A record as of the commit that wrote it, and its latest version on the evidence branch. */
function evidenceLinks(p: string, commit: string | undefined, branch: string | undefined): EvidenceLinks | undefined {
  const server = process.env['GITHUB_SERVER_URL'];
  const repo = process.env['GITHUB_REPOSITORY'];
  if (!server || !repo) return undefined;
  const blob = (ref: string): string => `${server}/${repo}/blob/${ref}/${p}`;
  // Without evidence-branch the records go to the default branch, which HEAD names on GitHub.
  return {
    atCommit: commit ? blob(commit) : undefined,
    onBranch: blob(branch ?? 'HEAD'),
    branch: branch ?? 'the default branch',
  };
}
