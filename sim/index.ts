/**
 * Loopback simulators of the four external systems thoth-rotate talks to (Thoth control plane,
 * Jamf Pro, Microsoft Graph + login, GitHub), sharing one simulated fleet. Each system is a
 * real HTTP server on 127.0.0.1 so the bundled action can run against them as a subprocess.
 * See sim/README.md for the API.
 */
import { Fleet, type FleetOptions } from './fleet.js';
import { GithubState, githubMutation } from './github.js';
import { GraphState, graphMutation } from './graph.js';
import { Faults, RequestLog, startServer, type Handler, type SimRequest, type SimServer, type SystemName } from './http.js';
import { JamfState, jamfMutation } from './jamf.js';
import { SimJournal } from './journal.js';
import { LoginState } from './login.js';
import { ThothState, thothMutation } from './thoth.js';
import { ALNUM, hashUuid, Rng } from './util.js';

export type { FleetOptions, Behaviour, EndpointView, FleetSnapshot, DeviceState } from './fleet.js';
export type { DeleteRecord, CheckIn } from './journal.js';
export { SimJournal };
export type { SystemName, LogEntry, FaultRule, FaultAction } from './http.js';
export type { KeyInfo, CreateKeyInput } from './thoth.js';
export type { ProfileVersion } from './jamf.js';
export type { ContentVersion } from './graph.js';
export type { CommitInfo } from './github.js';
export type { ThothSettings } from './payloads.js';
export { Fleet, GithubState, GraphState, JamfState, ThothState, RequestLog, Faults };
export { buildMobileconfig, readMobileconfig, buildRemediationScript, readRemediationScript, THOTH_DOMAIN } from './payloads.js';
export { blobSha } from './github.js';

export interface SimOptions {
  tenant?: string;
  seed?: number;
  fleet?: FleetOptions;
  latencyMs?: number | Partial<Record<SystemName, number>>;
  jamf?: {
    tokenTtlSeconds?: number; profileId?: number; groupId?: number; staticGroup?: boolean; maxPageSize?: number; clusterNodes?: number;
    /** How long a non-sticky read after a write sees the previous profile (default 1000). */
    replicationLagMs?: number;
  };
  graph?: {
    tokenTtlSeconds?: number; budget?: { writes: number; windowMs: number }; configBudget?: { writes: number; windowMs: number };
    retryAfterMissingRate?: number; membersPageSize?: number; devicesPageSize?: number; groupId?: string;
    macosConfigurationId?: string; remediationId?: string; nestedGroups?: boolean; userMembers?: number;
    /** Answer $batch items in a shuffled order, as Graph may (default true). */
    batchShuffle?: boolean;
  };
  github?: { owner?: string; repo?: string; defaultBranch?: string; protectedBranch?: boolean };
  thoth?: { revokedKeys?: 'inactive' | 'gone'; region?: string };
}

export interface Simulators {
  urls: { thoth: string; jamf: string; graph: string; login: string; github: string };
  creds: {
    tenant: string; orgApiKey: string; adminBearer: string; jamfClientId: string; jamfClientSecret: string;
    azureTenantId: string; azureClientId: string; azureClientSecret: string; githubToken: string; owner: string; repo: string;
  };
  ids: {
    fleetId: string; region: string; oldKeyId: string; jamfProfileId: number; jamfGroupId: number; graphGroupId: string;
    macosConfigurationId: string; remediationId: string; otherTenantKeyId: string; undeployedKeyId: string;
  };
  /** Every plaintext secret the sims ever issued or hold: minted api keys, tokens, client secrets, org key. */
  secrets(): string[];
  log: RequestLog;
  /** Never cleared: what the test oracle judges (sim/journal.ts). */
  journal: SimJournal;
  faults: Faults;
  thoth: ThothState;
  jamf: JamfState;
  graph: GraphState;
  login: LoginState;
  github: GithubState;
  fleet: Fleet;
  close(): Promise<void>;
}

export async function startSimulators(opts: SimOptions = {}): Promise<Simulators> {
  const seed = opts.seed ?? 1;
  const rng = new Rng(seed);
  const tenant = opts.tenant ?? 'acme';
  const fleetId = opts.fleet?.id ?? 'flt-corpsec-macos';
  const log = new RequestLog();
  const faults = new Faults();

  const thoth = new ThothState({ tenant, fleetId, region: opts.thoth?.region ?? 'us-east-1', revokedKeys: opts.thoth?.revokedKeys ?? 'inactive', rng });
  const fleet = new Fleet({ ...opts.fleet, id: fleetId }, seed, thoth.fleetKeyId);
  thoth.bindFleet(fleet);
  const journal = new SimJournal(thoth, fleet, tenant);
  const initial = { apiKey: thoth.plaintextOf(thoth.fleetKeyId) ?? '', keyId: thoth.fleetKeyId, revoked: [] };

  const jamfClientId = rng.uuid();
  const jamfClientSecret = rng.chars(ALNUM, 64);
  const jamf = new JamfState({
    tokenTtlSeconds: opts.jamf?.tokenTtlSeconds ?? 600, profileId: opts.jamf?.profileId ?? 123, groupId: opts.jamf?.groupId ?? 45,
    staticGroup: opts.jamf?.staticGroup ?? false, maxPageSize: opts.jamf?.maxPageSize ?? 2000, clusterNodes: opts.jamf?.clusterNodes ?? 2,
    replicationLagMs: opts.jamf?.replicationLagMs ?? 1000, clientId: jamfClientId, clientSecret: jamfClientSecret, tenant, initial, rng,
  }, fleet);

  const azureTenantId = rng.uuid();
  const azureClientId = rng.uuid();
  const azureClientSecret = `${rng.chars(ALNUM, 3)}8Q~${rng.chars(ALNUM + '_.-', 34)}`;
  const login = new LoginState({ azureTenantId, clientId: azureClientId, clientSecret: azureClientSecret, tokenTtlSeconds: opts.graph?.tokenTtlSeconds ?? 3599, rng });
  const g = opts.graph ?? {};
  const graph = new GraphState({
    groupId: g.groupId ?? hashUuid(seed, 9, 0), macosConfigurationId: g.macosConfigurationId ?? hashUuid(seed, 9, 1), remediationId: g.remediationId ?? hashUuid(seed, 9, 2),
    budget: g.budget ?? { writes: 200, windowMs: 20_000 }, configBudget: g.configBudget ?? { writes: 100, windowMs: 20_000 },
    retryAfterMissingRate: g.retryAfterMissingRate ?? 0, membersPageSize: g.membersPageSize ?? 100, devicesPageSize: g.devicesPageSize ?? 1000,
    nestedGroups: g.nestedGroups ?? false, userMembers: g.userMembers ?? 0, batchShuffle: g.batchShuffle ?? true,
    tenant, seed, initial, rng, login, faults,
  }, fleet);

  const gh = opts.github ?? {};
  const githubToken = `ghs_${rng.chars(ALNUM, 36)}`;
  const github = new GithubState({ owner: gh.owner ?? 'acme-corp', repo: gh.repo ?? 'thoth-rotations', defaultBranch: gh.defaultBranch ?? 'main', protectedBranch: gh.protectedBranch ?? false, token: githubToken });

  fleet.hooks = { deliver: (i) => (fleet.mdm === 'jamf' ? jamf.deliveredConfig(i) : graph.deliveredConfig(i)), keys: thoth };

  const latency = (s: SystemName): number => (typeof opts.latencyMs === 'number' ? opts.latencyMs : opts.latencyMs?.[s] ?? 0);
  const servers: SimServer[] = [];
  const serve = async (system: SystemName, handler: Handler, isMutation: (r: SimRequest) => boolean): Promise<string> => {
    const s = await startServer({ system, handler, log, faults, latencyMs: latency(system), isMutation });
    servers.push(s);
    return s.url;
  };
  const never = (): boolean => false;
  const urls = {
    thoth: await serve('thoth', thoth.handler, thothMutation),
    jamf: await serve('jamf', jamf.handler, jamfMutation),
    graph: await serve('graph', graph.handler, graphMutation),
    login: await serve('login', login.handler, never),
    github: await serve('github', github.handler, githubMutation),
  };
  login.graphUrl = graph.baseUrl = urls.graph;
  github.setBaseUrl(urls.github);

  return {
    urls,
    creds: {
      tenant, orgApiKey: thoth.orgApiKey, adminBearer: thoth.adminBearer, jamfClientId, jamfClientSecret,
      azureTenantId, azureClientId, azureClientSecret, githubToken, owner: github.owner, repo: github.repo,
    },
    ids: {
      fleetId, region: thoth.region, oldKeyId: thoth.fleetKeyId, jamfProfileId: opts.jamf?.profileId ?? 123, jamfGroupId: opts.jamf?.groupId ?? 45,
      graphGroupId: graph.directory.groupId, macosConfigurationId: g.macosConfigurationId ?? hashUuid(seed, 9, 1), remediationId: g.remediationId ?? hashUuid(seed, 9, 2),
      otherTenantKeyId: thoth.otherTenantKeyId, undeployedKeyId: thoth.undeployedKeyId,
    },
    secrets: () => [
      ...thoth.allPlaintexts(), thoth.adminBearer, jamfClientSecret, azureClientSecret, githubToken,
      ...jamf.issuedTokens(), ...login.issuedTokens(),
    ],
    log, journal, faults, thoth, jamf, graph, login, github, fleet,
    close: async () => {
      fleet.stop();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
