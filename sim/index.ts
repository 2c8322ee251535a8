/**
 * Loopback simulators of the four external systems thoth-rotate talks to (Thoth control plane,
 * Jamf Pro, Microsoft Graph + login, GitHub), sharing one simulated fleet. Each system is a
 * real HTTP server on 127.0.0.1 so the bundled action can run against them as a subprocess.
 * See sim/README.md for the API.
 */
import { Fleet, type FleetOptions } from './fleet.js';
import { GithubState, githubMutation, type GithubLimits } from './github.js';
import { GraphState, graphMutation } from './graph.js';
import {
  Faults,
  RequestLog,
  startServer,
  type Handler,
  type SimRequest,
  type SimServer,
  type SystemName,
} from './http.js';
import { JamfState, jamfMutation } from './jamf.js';
import { NEWEST_JAMF_VERSION } from './jamf-versions.js';
import { SimJournal } from './journal.js';
import { LoginState } from './login.js';
import { IME_CYCLE_MS } from './remediation.js';
import { ThothState, thothMutation, type RuntimeKeyId } from './thoth.js';
import { ALNUM, hashUuid, Rng } from './util.js';

export type { FleetOptions, ChannelOptions, Behaviour, EndpointView, FleetSnapshot, DeviceState } from './fleet.js';
export type { DeleteRecord, CheckIn } from './journal.js';
export { SimJournal };
export type { SystemName, LogEntry, FaultRule, FaultAction } from './http.js';
export type { KeyInfo, CreateKeyInput, RuntimeKeyId } from './thoth.js';
export type { ProfileVersion } from './jamf.js';
export type { ContentVersion } from './graph.js';
export type { CommitInfo, GithubLimits, GithubStats, ContentBudget } from './github.js';
export type { ThothSettings } from './payloads.js';
export { Fleet, GithubState, GraphState, JamfState, ThothState, RequestLog, Faults };
export {
  buildMobileconfig,
  readMobileconfig,
  buildRemediationScript,
  readRemediationScript,
  buildDetectionScript,
  readDetectionScript,
  THOTH_DOMAIN,
} from './payloads.js';
export { OUTPUT_LIMIT as REMEDIATION_OUTPUT_LIMIT, type RunState } from './remediation.js';
export { blobSha } from './github.js';
export { NEWEST_JAMF_VERSION, servedBy, type ServedJamfApi } from './jamf-versions.js';

export interface SimOptions {
  tenant?: string;
  seed?: number;
  fleet?: FleetOptions;
  latencyMs?: number | Partial<Record<SystemName, number>>;
  jamf?: {
    tokenTtlSeconds?: number;
    profileId?: number;
    groupId?: number;
    staticGroup?: boolean;
    maxPageSize?: number;
    clusterNodes?: number;
    /** How long a non-sticky read after a write sees the previous profile (default 1000). */
    replicationLagMs?: number;
    /**
     * The Jamf Pro version served (`GET /api/v1/jamf-pro-version`), e.g. '11.5.1-t1718634702':
     * it picks the inventory, membership and blank-push paths and field names (jamf-versions.ts).
     * Default: the newest schema known, {@link NEWEST_JAMF_VERSION}.
     */
    version?: string;
  };
  graph?: {
    tokenTtlSeconds?: number;
    budget?: { writes: number; windowMs: number };
    configBudget?: { writes: number; windowMs: number };
    retryAfterMissingRate?: number;
    membersPageSize?: number;
    devicesPageSize?: number;
    groupId?: string;
    macosConfigurationId?: string;
    remediationId?: string;
    nestedGroups?: boolean;
    userMembers?: number;
    /** Answer $batch items in a shuffled order, as Graph may (default true). */
    batchShuffle?: boolean;
    /**
     * The Intune Management Extension's remediation policy retrieval cycle (default 8 h; each
     * device's first retrieval falls between half a cycle and a cycle after start).
     */
    imeCycleMs?: number;
    /** Delay between an on-demand remediation and its run (default: fleet.checkInDelayMs). */
    remediationDelayMs?: [number, number];
  };
  github?: {
    owner?: string;
    repo?: string;
    defaultBranch?: string;
    protectedBranch?: boolean;
    /** GitHub's own limits (sim/github.ts GithubLimits); default: the published ones. */
    limits?: Partial<GithubLimits>;
  };
  thoth?: {
    revokedKeys?: 'inactive' | 'gone';
    region?: string;
    /** `managed_runtime_key_id` of endpoint rows: `reported` (default), `null`, or the share (0..1) of endpoints that report it. */
    runtimeKeyId?: RuntimeKeyId;
  };
}

export interface Simulators {
  urls: { thoth: string; jamf: string; graph: string; login: string; github: string };
  creds: {
    tenant: string;
    orgApiKey: string;
    adminBearer: string;
    jamfClientId: string;
    jamfClientSecret: string;
    azureTenantId: string;
    azureClientId: string;
    azureClientSecret: string;
    githubToken: string;
    owner: string;
    repo: string;
  };
  ids: {
    fleetId: string;
    region: string;
    oldKeyId: string;
    jamfProfileId: number;
    jamfGroupId: number;
    graphGroupId: string;
    macosConfigurationId: string;
    remediationId: string;
    otherTenantKeyId: string;
    undeployedKeyId: string;
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

  const thoth = new ThothState({
    tenant,
    fleetId,
    region: opts.thoth?.region ?? 'us-east-1',
    revokedKeys: opts.thoth?.revokedKeys ?? 'inactive',
    runtimeKeyId: opts.thoth?.runtimeKeyId ?? 'reported',
    seed,
    rng,
  });
  const fleet = new Fleet({ ...opts.fleet, id: fleetId }, seed, thoth.fleetKeyId);
  thoth.bindFleet(fleet);
  const journal = new SimJournal(thoth, fleet, tenant);
  const initial = { apiKey: thoth.plaintextOf(thoth.fleetKeyId) ?? '', keyId: thoth.fleetKeyId, revoked: [] };

  const jamfClientId = rng.uuid();
  const jamfClientSecret = rng.chars(ALNUM, 64);
  const jamf = new JamfState(
    {
      tokenTtlSeconds: opts.jamf?.tokenTtlSeconds ?? 600,
      profileId: opts.jamf?.profileId ?? 123,
      groupId: opts.jamf?.groupId ?? 45,
      staticGroup: opts.jamf?.staticGroup ?? false,
      maxPageSize: opts.jamf?.maxPageSize ?? 2000,
      clusterNodes: opts.jamf?.clusterNodes ?? 2,
      replicationLagMs: opts.jamf?.replicationLagMs ?? 1000,
      clientId: jamfClientId,
      clientSecret: jamfClientSecret,
      tenant,
      initial,
      rng,
      version: opts.jamf?.version ?? NEWEST_JAMF_VERSION,
    },
    fleet,
  );

  const azureTenantId = rng.uuid();
  const azureClientId = rng.uuid();
  const azureClientSecret = `${rng.chars(ALNUM, 3)}8Q~${rng.chars(`${ALNUM}_.-`, 34)}`;
  const login = new LoginState({
    azureTenantId,
    clientId: azureClientId,
    clientSecret: azureClientSecret,
    tokenTtlSeconds: opts.graph?.tokenTtlSeconds ?? 3599,
    rng,
  });
  const g = opts.graph ?? {};
  const graph = new GraphState(
    {
      groupId: g.groupId ?? hashUuid(seed, 9, 0),
      macosConfigurationId: g.macosConfigurationId ?? hashUuid(seed, 9, 1),
      remediationId: g.remediationId ?? hashUuid(seed, 9, 2),
      budget: g.budget ?? { writes: 200, windowMs: 20_000 },
      configBudget: g.configBudget ?? { writes: 100, windowMs: 20_000 },
      retryAfterMissingRate: g.retryAfterMissingRate ?? 0,
      membersPageSize: g.membersPageSize ?? 100,
      devicesPageSize: g.devicesPageSize ?? 1000,
      nestedGroups: g.nestedGroups ?? false,
      userMembers: g.userMembers ?? 0,
      batchShuffle: g.batchShuffle ?? true,
      imeCycleMs: g.imeCycleMs ?? IME_CYCLE_MS,
      remediationDelayMs: g.remediationDelayMs ?? opts.fleet?.checkInDelayMs ?? [50, 300],
      tenant,
      seed,
      initial,
      rng,
      login,
      faults,
    },
    fleet,
  );

  const gh = opts.github ?? {};
  const githubToken = `ghs_${rng.chars(ALNUM, 36)}`;
  const github = new GithubState({
    owner: gh.owner ?? 'acme-corp',
    repo: gh.repo ?? 'thoth-rotations',
    defaultBranch: gh.defaultBranch ?? 'main',
    protectedBranch: gh.protectedBranch ?? false,
    token: githubToken,
    ...(gh.limits ? { limits: gh.limits } : {}),
  });

  fleet.hooks = {
    deliver: (i) => (fleet.mdm === 'jamf' ? jamf.deliveredConfig(i) : graph.deliveredConfig(i)),
    configured: (i) => (fleet.mdm === 'jamf' ? jamf.deliveredConfig(i) : graph.configuredSettings(i)),
    keys: thoth,
  };

  const latency = (s: SystemName): number =>
    typeof opts.latencyMs === 'number' ? opts.latencyMs : (opts.latencyMs?.[s] ?? 0);
  const servers: SimServer[] = [];
  const serve = async (
    system: SystemName,
    handler: Handler,
    isMutation: (r: SimRequest) => boolean,
  ): Promise<string> => {
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
      tenant,
      orgApiKey: thoth.orgApiKey,
      adminBearer: thoth.adminBearer,
      jamfClientId,
      jamfClientSecret,
      azureTenantId,
      azureClientId,
      azureClientSecret,
      githubToken,
      owner: github.owner,
      repo: github.repo,
    },
    ids: {
      fleetId,
      region: thoth.region,
      oldKeyId: thoth.fleetKeyId,
      jamfProfileId: opts.jamf?.profileId ?? 123,
      jamfGroupId: opts.jamf?.groupId ?? 45,
      graphGroupId: graph.directory.groupId,
      macosConfigurationId: g.macosConfigurationId ?? hashUuid(seed, 9, 1),
      remediationId: g.remediationId ?? hashUuid(seed, 9, 2),
      otherTenantKeyId: thoth.otherTenantKeyId,
      undeployedKeyId: thoth.undeployedKeyId,
    },
    secrets: () => [
      ...thoth.allPlaintexts(),
      thoth.adminBearer,
      jamfClientSecret,
      azureClientSecret,
      githubToken,
      ...jamf.issuedTokens(),
      ...login.issuedTokens(),
    ],
    log,
    journal,
    faults,
    thoth,
    jamf,
    graph,
    login,
    github,
    fleet,
    close: async () => {
      fleet.stop();
      graph.stop();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
