import * as core from '@actions/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AdapterFactory } from '../adapters.js';
import { createRepoHistory } from '../clients/github-contents.js';
import { createThothClient, type ThothApi } from '../clients/thoth.js';
import { errorMessage } from '../errors.js';
import { fingerprint } from '../evidence/chain.js';
import { parseRecord, type EvidenceRecord } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import { log } from '../log.js';
import type { MdmProvider } from '../mdm/provider.js';
import { writeSummary } from '../outputs.js';
import { repository } from '../run-info.js';
import { redact } from '../secrets.js';
import type { Settings } from '../settings.js';
import { checkHistory, type ReadVersion } from '../verify/history-check.js';
import {
  controlPlaneProblems,
  deliveredRevocationProblems,
  deliveringRecord,
  fingerprintProblem,
  keyIdsOf,
  unaccountedKeys,
  type Delivered,
  type LiveKey,
} from '../verify/live-check.js';
import { checkRecord, identityProblems } from '../verify/record-check.js';
import { renderVerifySummary } from '../verify/render.js';
import { problem, type RecordReport, type UnaccountedKey, type VerifyReport } from '../verify/report.js';
import { openGitSource, recordPaths, restSource, type EvidenceSource } from '../verify/sources.js';
import { illegalTransitions } from '../verify/transitions.js';

/** Where records are looked for besides every intent's evidence.path: the default (deleted intents). */
const DEFAULT_EVIDENCE_ROOT = '.thoth/evidence';

interface Checked {
  readonly path: string;
  readonly record: EvidenceRecord | undefined;
  readonly state: string;
  readonly problems: string[];
  readonly notes: string[];
  /** The current intent whose evidence this is, if any. */
  readonly intent: Intent | undefined;
}

/**
 * `mode: verify` (spec action.md §11): re-derives every claim of every record from the record,
 * its history on the evidence branch and live state, and changes nothing (only reads; the
 * simulators' logs show it). Writes the report file, the summary and the outputs; a violation
 * fails the step.
 */
export async function runVerify(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  workspace: string,
): Promise<void> {
  const report = await verifyEvidence(settings, intents, factory, workspace);
  const file = path.join(process.env['RUNNER_TEMP'] || tmpdir(), 'thoth-rotate', 'verify-report.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${redact(JSON.stringify(report, null, 2))}\n`);
  core.setOutput('status', report.status);
  core.setOutput('report', file);
  for (const r of report.records) {
    if (r.ok) log.info(`${r.path}: ${r.state}, verified`);
    else log.error(`${r.path} (${r.state}): ${r.problems.join('; ')}`, { title: 'evidence does not verify' });
  }
  for (const k of report.unaccountedKeys)
    log.warning(`unaccounted key ${k.keyId} (${k.name ?? 'no name'}, ${k.scope} ${k.target}): no record names it`);
  await writeSummary(renderVerifySummary(report, file));
  if (report.status === 'violations') {
    const bad = report.records.filter((r) => !r.ok).length;
    log.fail(`thoth-rotate verify: ${bad} of ${report.records.length} record(s) do not verify; see ${file}`);
  }
}

export async function verifyEvidence(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  workspace: string,
): Promise<VerifyReport> {
  const repo = repository();
  if (!settings.githubToken || !repo)
    throw new Error('verify needs github-token and GITHUB_REPOSITORY to read evidence');
  const api = createRepoHistory({
    token: settings.githubToken,
    ...repo,
    ...(process.env['GITHUB_API_URL'] ? { apiUrl: process.env['GITHUB_API_URL'] } : {}),
  });
  const branch = settings.evidenceBranch ?? (await api.defaultBranch());
  const git = await openGitSource(workspace, branch);
  const source = git.source ?? restSource(api, branch);
  log.info(
    source.kind === 'git'
      ? `verify: history from the checkout (branch ${branch} at ${source.commit})`
      : `verify: history from the GitHub REST API (${git.why})`,
  );

  const roots = [...new Set([...intents.map((i) => i.evidence.path), DEFAULT_EVIDENCE_ROOT])];
  const paths = [
    ...new Set((await Promise.all(roots.map(async (r) => recordPaths(r, await source.files(r))))).flat()),
  ].sort();
  const checked: Checked[] = [];
  for (const p of paths) checked.push(await checkOne(source, p, settings.evidenceHmacKey, intents));

  const unaccounted = await checkLive(settings, intents, factory, checked);
  const records: RecordReport[] = checked.map((c) => ({
    path: c.path,
    state: c.state,
    ok: c.problems.length === 0,
    problems: c.problems,
    notes: c.notes,
  }));
  return {
    records,
    unaccountedKeys: unaccounted,
    source: { history: source.kind, branch, ...(source.commit ? { commit: source.commit } : {}) },
    status: records.every((r) => r.ok) ? 'verified' : 'violations',
  };
}

/** The record alone, then its history (append-only, legal transitions). */
async function checkOne(
  source: EvidenceSource,
  p: string,
  macKey: Buffer | undefined,
  intents: readonly Intent[],
): Promise<Checked> {
  const intent = intents.find((i) => p === i.evidencePath || p.startsWith(i.evidencePath.replace(/\.json$/, '/')));
  const text = await source.read(p);
  if (text === undefined)
    return {
      path: p,
      record: undefined,
      state: 'unknown',
      problems: [problem('schema', 'could not be read')],
      notes: [],
      intent,
    };
  const own = checkRecord(text, p, macKey);
  const problems = [...own.problems, ...(own.record ? identityProblems(own.record, p, intent) : [])];
  const notes = [...own.notes];
  const versions: ReadVersion[] = (await source.versions(p)).map((v) => {
    if (v.text === undefined) return { commit: v.commit, deleted: true };
    try {
      return { commit: v.commit, deleted: false, record: parseRecord(v.text, p) };
    } catch (e) {
      return { commit: v.commit, deleted: false, invalid: errorMessage(e).replace(`${p}: `, '').slice(0, 300) };
    }
  });
  if (versions.length === 0) notes.push('history: no commit of this file was found on the branch');
  const history = checkHistory(versions);
  problems.push(...history.problems, ...illegalTransitions(history.states).map((t) => problem('transitions', t)));
  notes.push(...history.notes);
  if (!intent && own.record) notes.push('no current intent names this record (its intent was deleted or renamed)');
  return { path: p, record: own.record, state: own.state, problems, notes, intent };
}

interface Live {
  readonly thoth: ThothApi;
  readonly mdm?: MdmProvider;
  close(): Promise<void>;
}

/**
 * Live state (§11.3) and hygiene (§11.4). The control plane of a record is the one of its intent,
 * or, for a record whose intent is gone, of a current intent with the same tenant and URL; its
 * MDM only through its own current intent, and only with that MDM's credentials.
 */
async function checkLive(
  settings: Settings,
  intents: readonly Intent[],
  factory: AdapterFactory,
  checked: readonly Checked[],
): Promise<UnaccountedKey[]> {
  const live = new Map<Intent, Live>();
  try {
    for (const intent of intents) live.set(intent, await connect(settings, intent, factory));
    const tenantOf = (url: string, tenant: string) => `${url}|${tenant}`;
    const keys = new Map<string, Promise<LiveKey[]>>();
    const keysFor = (url: string, tenant: string): Promise<LiveKey[]> | undefined => {
      const k = tenantOf(url, tenant);
      if (!keys.has(k)) {
        const intent = intents.find((i) => i.controlPlaneUrl === url && i.tenant === tenant);
        if (!intent) return undefined;
        const listing = live.get(intent)!.thoth.listKeys();
        listing.catch(() => undefined);
        keys.set(k, listing);
      }
      return keys.get(k);
    };
    const valid = checked.filter((c): c is Checked & { record: EvidenceRecord } => c.record !== undefined);

    for (const c of valid) {
      const url = c.record.target?.controlPlaneUrl ?? c.intent?.controlPlaneUrl;
      const listing = url ? keysFor(url, c.record.tenant) : undefined;
      if (!listing) {
        c.notes.push('live: not checked (no current intent uses this control plane and tenant)');
        continue;
      }
      try {
        const list = await listing;
        const others = valid.filter((o) => o !== c);
        const replacedLater = (id: string) =>
          others.some(
            (o) =>
              o.record.oldKey?.keyId === id ||
              (o.record.supersededKeys ?? []).some((k) => k.keyId === id) ||
              (o.record.revokedKeys ?? []).some((k) => k.keyId === id),
          );
        c.problems.push(...controlPlaneProblems(c.record, list, replacedLater));
      } catch (e) {
        c.problems.push(problem('live', `the control plane's key list could not be read: ${errorMessage(e)}`));
      }
    }

    for (const intent of intents) {
      const mine = valid.filter((c) => c.intent === intent);
      if (mine.length === 0) continue;
      const mdm = live.get(intent)!.mdm;
      if (!mdm) {
        for (const c of mine)
          c.notes.push(`live: the MDM was not read (no ${intent.mdm.provider} credentials): delivered key not checked`);
        continue;
      }
      let delivered: Delivered;
      try {
        const config = await mdm.readConfig();
        delivered = {
          fingerprint: config.apiKey ? fingerprint(config.apiKey.reveal()) : undefined,
          listsRevoked: (id) => config.revokedKeyIds.some((v) => v.is(id)),
        };
      } catch (e) {
        for (const c of mine)
          c.problems.push(problem('live', `the MDM configuration could not be read: ${errorMessage(e)}`));
        continue;
      }
      for (const c of mine) c.problems.push(...deliveredRevocationProblems(c.record, delivered));
      const delivering = deliveringRecord(mine);
      if (delivering && 'skipped' in delivering) {
        mine.at(-1)?.notes.push(`live: delivered key not compared: ${delivering.skipped}`);
      } else if (delivering) {
        const bad = fingerprintProblem(delivering.record, delivered);
        if (bad) mine.find((c) => c.path === delivering.path)!.problems.push(bad);
      }
    }

    // Hygiene: per control plane, active keys of the fleets and endpoints it manages that no record names.
    const accounted = new Set(valid.flatMap((c) => keyIdsOf(c.record)));
    const out: UnaccountedKey[] = [];
    for (const [k, listing] of keys) {
      const list = await listing.catch(() => undefined);
      if (!list) continue;
      const mine = intents.filter((i) => tenantOf(i.controlPlaneUrl, i.tenant) === k);
      const recs = valid.filter(
        (c) => tenantOf(c.record.target?.controlPlaneUrl ?? c.intent?.controlPlaneUrl ?? '', c.record.tenant) === k,
      );
      const fleets = new Set([...mine.map((i) => i.fleet.id), ...recs.map((c) => c.record.fleet.id)]);
      const endpoints = new Set(
        [...mine.map((i) => i.key.endpointId), ...recs.map((c) => c.record.target?.key.endpointId)].filter(
          (e): e is string => !!e,
        ),
      );
      out.push(...unaccountedKeys(list, { fleets, endpoints }, accounted));
    }
    return out;
  } finally {
    await Promise.allSettled([...live.values()].map((l) => l.close()));
  }
}

/** The control plane always; the MDM only with its credentials (verify needs none, it reads what it can). */
async function connect(settings: Settings, intent: Intent, factory: AdapterFactory): Promise<Live> {
  const hasMdm = intent.mdm.provider === 'jamf' ? !!settings.jamf : !!settings.azure;
  if (hasMdm) return factory(settings, intent);
  const thoth = createThothClient({
    baseUrl: intent.controlPlaneUrl,
    tenant: intent.tenant,
    credential: settings.thoth,
  });
  return { thoth, close: () => thoth.close() };
}
