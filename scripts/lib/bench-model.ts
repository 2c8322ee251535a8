/**
 * The benchmark's model of "the least the APIs allow": how the request log of one action run
 * splits into phases, the minimum number of requests each phase needs given the APIs' page,
 * batch and filter limits, and the wall-time lower bound set by latency, allowed concurrency
 * and throttle budgets. Pure functions over the simulators' request log plus the few facts
 * of the scenario (fleet size, latency, the simulated fleet's check-in times); every
 * minimum is explained where it is computed and again in docs/benchmarks.md.
 */
import type { LogEntry } from '../../sim/index.js';
import { EVIDENCE_COMMITS_MIN } from './bench-github.js';

export type Phase = 'membership' | 'inventory' | 'refresh' | 'validation' | 'evidence' | 'other';
export const PHASES: readonly Phase[] = ['membership', 'inventory', 'refresh', 'validation', 'evidence', 'other'];

// ---- API limits the minimums are derived from ------------------------------------------------

/**
 * Jamf `GET /api/v4/computers-inventory`: largest `page-size` the server accepts. Undocumented
 * by Jamf (reference/mdm.md §3.3: the macadmins SDK says 2000); the simulator enforces it.
 * One request returns at most this many computers, whatever the filter.
 */
export const JAMF_MAX_PAGE = 2000;
/**
 * Jamf `id=in=(…)` lists travel in the request line, which Jamf Cloud's load balancer caps
 * near 16 KiB (431 above; sim/README.md). 2000 ids of up to 6 digits joined by raw commas
 * are about 14 KB, so the page size, not the URL, is what binds: ids per request = 2000.
 */
export const JAMF_IDS_PER_REQUEST = 2000;
/**
 * Jamf `POST /api/v2/mdm/blank-push`: Jamf documents no maximum for `clientManagementIds`;
 * the action sends at most 1000 per call (≈ 39 KB of body) and the bench holds it to that.
 */
export const JAMF_PUSH_PER_REQUEST = 1000;
/** Jamf's scalability guidance: at most 5 concurrent connections per API client. */
export const JAMF_CONNECTIONS = 5;
/** Graph directory listings (`transitiveMembers`): `$top` ≤ 999. */
export const GRAPH_MEMBERS_PAGE = 999;
/** Graph `deviceManagement/managedDevices` and `deviceRunStates`: `$top` ≤ 1000. */
export const GRAPH_DEVICES_PAGE = 1000;
/** Graph JSON batching: at most 20 requests per `$batch`. */
export const GRAPH_BATCH = 20;
/** Intune "devices" write budget per app per tenant: 200 writes per 20 s (window scaled by the bench). */
export const GRAPH_WRITES_PER_WINDOW = 200;

// ---- log helpers ------------------------------------------------------------------------------

const end = (e: LogEntry): number => e.at + e.durationMs;

/** Jamf computer ids of an inventory request's `id=in=(…)` filter (empty when none). */
export function jamfFilterIds(e: LogEntry): number[] {
  const filter = new URLSearchParams(e.query).get('filter') ?? '';
  const m = /id=in=\(([^)]*)\)/.exec(filter);
  if (!m?.[1]) return [];
  return m[1]
    .split(',')
    .map(Number)
    .filter((n) => Number.isFinite(n));
}

/** Graph `$batch` items (method + url) from the logged request body. */
export function batchItems(e: LogEntry): { method: string; url: string }[] {
  try {
    const b = JSON.parse(e.bodyText ?? '') as { requests?: { method?: string; url?: string }[] };
    return (b.requests ?? []).map((r) => ({ method: String(r.method ?? '').toUpperCase(), url: String(r.url ?? '') }));
  } catch {
    return [];
  }
}

const isThothEndpoints = (e: LogEntry): boolean =>
  e.system === 'thoth' && e.method === 'GET' && /\/thoth\/endpoints$/.test(e.path);
const isJamfInventory = (e: LogEntry): boolean =>
  e.system === 'jamf' && e.method === 'GET' && e.path === '/api/v4/computers-inventory';
const isJamfMembership = (e: LogEntry): boolean =>
  e.system === 'jamf' &&
  e.method === 'GET' &&
  (/\/computer-groups\/smart-group-membership\//.test(e.path) || /^\/JSSResource\/computergroups\//.test(e.path));
/** Jamf's refresh: the blank push the bench's server version serves. */
export const isJamfPush = (e: LogEntry): boolean =>
  e.system === 'jamf' && e.method === 'POST' && e.path === '/api/v2/mdm/blank-push';

const isGraphMembership = (e: LogEntry): boolean =>
  e.system === 'graph' &&
  e.method === 'GET' &&
  (/\/groups\/[^/]+\/(transitiveMembers|members)/.test(e.path) || /\/users\/[^/]+\/managedDevices$/.test(e.path));
const isGraphDeviceRead = (e: LogEntry): boolean =>
  e.system === 'graph' &&
  ((e.method === 'GET' &&
    (/\/deviceManagement\/managedDevices(\/[^/]+)?$/.test(e.path) || /\/deviceRunStates$/.test(e.path))) ||
    (e.method === 'POST' && /\/\$batch$/.test(e.path) && batchItems(e).some((i) => i.method === 'GET')));
/** A refresh write: syncDevice (macOS), or the on-demand remediation (Windows, beta `$batch`). */
const REFRESH_ACTION = /\/(syncDevice|initiateOnDemandProactiveRemediation)$/;
const isGraphSync = (e: LogEntry): boolean =>
  e.system === 'graph' &&
  e.method === 'POST' &&
  (REFRESH_ACTION.test(e.path) || (/\/\$batch$/.test(e.path) && batchItems(e).some((i) => REFRESH_ACTION.test(i.url))));

/** Phase of every logged request (same order as `entries`). */
export function classify(entries: readonly LogEntry[], mdm: 'jamf' | 'intune'): Phase[] {
  const isRefresh = mdm === 'jamf' ? isJamfPush : isGraphSync;
  const firstRefresh = Math.min(...entries.filter(isRefresh).map((e) => e.at));
  return entries.map((e) => {
    if (e.system === 'github') return 'evidence';
    if (isRefresh(e)) return 'refresh';
    const afterRefresh = e.at >= firstRefresh;
    if (mdm === 'jamf') {
      if (isJamfMembership(e)) return 'membership';
      if (isJamfInventory(e)) return afterRefresh ? 'validation' : 'inventory';
    } else {
      if (isGraphMembership(e)) return 'membership';
      if (isGraphDeviceRead(e)) return afterRefresh ? 'validation' : 'inventory';
    }
    if (isThothEndpoints(e) && afterRefresh) return 'validation';
    return 'other';
  });
}

/** Busy time: the union of request intervals, gaps under `joinMs` (client work between pages) included. */
export function busyMs(entries: readonly LogEntry[], joinMs = 50): number {
  const iv = entries.map((e) => [e.at, end(e)] as [number, number]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [s, t] of iv) {
    if (cur && s - cur[1] <= joinMs) cur[1] = Math.max(cur[1], t);
    else {
      if (cur) total += cur[1] - cur[0];
      cur = [s, t];
    }
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** Rounds of `requests` spread over `concurrency` connections. */
export const rounds = (requests: number, concurrency: number): number => Math.ceil(requests / concurrency);

// ---- the scenario's facts the model needs ------------------------------------------------------

export interface Scenario {
  readonly mdm: 'jamf' | 'intune';
  /** Devices in the target group. */
  readonly members: number;
  /** Every device the MDM manages (group + others): what an unfilterable listing returns. */
  readonly managed: number;
  /** Windows members (Intune remediation run states are read for them). */
  readonly windows: number;
  readonly latencyMs: number;
  /** Intune write budget as simulated: writes per windowMs. */
  readonly budget: { writes: number; windowMs: number };
  /** validation.minHealthy (0..1). */
  readonly minHealthy: number;
  /** Members counted as active by the verdict (seen within validation.activeWithin). */
  readonly active: number;
  /**
   * Per member index: when a key signal naming the new key first became readable (NaN =
   * never): the earlier of `listedAt` and `reportedAt`. Checking in is not such a signal.
   */
  readonly healthyAt: Float64Array;
  /** Per member index: when the control plane's listing first shows it on the new key (its first heartbeat after adopting it; NaN = never). */
  readonly listedAt: Float64Array;
  /** Per member index: when the MDM first holds a health report naming the new key made after adopting it (NaN = never). */
  readonly reportedAt: Float64Array;
  /** Per member index: when it checked in with the MDM after the refresh at all (NaN = never). */
  readonly checkedInAt: Float64Array;
  /**
   * A member's first heartbeat after instant `t`, on any key (NaN = none: offline, inactive):
   * from then the control plane's listing shows it checked in, and only fresh inventory is news
   * (Jamf).
   */
  readonly nextHeartbeat?: (i: number, t: number) => number;
  /** Member index of a Jamf computer id (Jamf only). */
  readonly indexOfJamfId?: (id: number) => number | undefined;
  /**
   * CPU time the simulators spent between two instants (ms). They run in one Node process and
   * serve one request at a time, so this is service time no client can overlap away.
   */
  readonly serverMs: (from: number, to: number) => number;
  /**
   * How long the GitHub simulator holds each contents PUT before it commits (sim/github.ts
   * `headWindowMs`: a real PUT builds the blob, tree and commit in between): server time no
   * client can avoid, part of every commit's bound.
   */
  readonly commitHoldMs: number;
}

export interface PhaseRow {
  readonly phase: Phase;
  readonly requests: number;
  readonly min: number;
  /** How the minimum is made up, one line. */
  readonly why: string;
  readonly timeMs: number;
  /** The bound the target is judged against: max(network bound, service bound). */
  readonly lowerMs: number;
  /** Latency × rounds over the allowed connections, throttle windows, device check-in wait. */
  readonly networkMs: number;
  readonly lowerWhy: string;
}

/**
 * Lower bound of a phase: the network bound (latency × rounds, throttle windows, waits), or,
 * when the server needs longer, one latency plus the server's own CPU time for the minimal
 * requests (scaled down when more than the minimum were made).
 *
 * `connections`: requests in rounds over that many connections. A request holds its
 * connection for its latency and its service time, so the connections together need at least
 * the latency rounds plus 1/connections of the service time (bottleneck analysis of a closed
 * system: N requests, C connections → time ≥ max(N·(L + t)/C, N·t)).
 */
function bound(
  networkMs: number,
  latencyMs: number,
  serverMs: number,
  requests: number,
  min: number,
  sequential = false,
  connections = Infinity,
): number {
  const share = requests > 0 ? Math.min(1, min / requests) : 1;
  const work = serverMs * share;
  // Pages fetched one after another (nextLink) wait for each page's service time in turn.
  if (sequential) return networkMs + work;
  return Math.max(networkMs + (Number.isFinite(connections) ? work / connections : 0), latencyMs + work);
}

function windowOf(entries: readonly LogEntry[]): [number, number] {
  let a = Infinity;
  let b = -Infinity;
  for (const e of entries) {
    a = Math.min(a, e.at);
    b = Math.max(b, end(e));
  }
  return [a, b];
}

export interface PollStats {
  readonly polls: number;
  /** Device reads of devices an earlier poll had already seen confirmed (should be 0). */
  readonly rereadConfirmed: number;
  /** Σ over polls of the devices not yet seen confirmed. */
  readonly neededReads: number;
  /** Device ids the polls actually asked for. */
  readonly reads: number;
  /** From the end of the refresh to the first poll's Thoth listing request, ms (NaN without one). */
  readonly firstPollAfterMs: number;
  /**
   * From the moment `minHealthy` was reached (simulator truth) to the last poll's listing
   * request, ms: what a poller loses to where that moment falls in its poll cycle.
   */
  readonly lastListingAfterMs: number;
  /**
   * Jamf: the validation minimum if one request could carry both time filters (an RSQL OR of
   * two id groups, which Jamf does not document): what the split costs, in requests.
   */
  readonly oneFilterMin?: number;
}

/**
 * The evidence commits' own time between the refresh's end and the first poll (the `refreshed`
 * commit, which the guarantees need before validation: bench-github.ts), clamped to that span.
 * It is the evidence row's time: validation's time and its wait for the 95 % moment leave it
 * out, so it is counted once, and the action's own work around it stays in validation.
 */
function commitsBeforeFirstPoll(entries: readonly LogEntry[], phases: readonly Phase[], refreshEnd: number): number {
  const firstPoll = entries.find((_, i) => phases[i] === 'validation')?.at ?? Infinity;
  const commits = entries
    .filter((e, i) => phases[i] === 'evidence' && e.at >= refreshEnd && e.at < firstPoll)
    .map((e) => ({ ...e, durationMs: Math.min(end(e), firstPoll) - e.at }));
  return busyMs(commits, 0);
}

/** When the first validation listing was asked for, after the refresh ended. */
function firstPollAfter(polls: readonly (readonly LogEntry[])[], refreshEnd: number): number {
  const listing = polls[0]?.find(isThothEndpoints);
  return listing ? listing.at - refreshEnd : Number.NaN;
}

/** When the last validation listing was asked for, after `minHealthy` was reached. */
function lastListingAfter(polls: readonly (readonly LogEntry[])[], threshold: number): number {
  const listing = polls.at(-1)?.find(isThothEndpoints);
  return listing ? listing.at - threshold : Number.NaN;
}

export interface Analysis {
  readonly rows: PhaseRow[];
  readonly totalRequests: number;
  readonly totalMin: number;
  /** Lower bound of the whole run after the process started (critical path), ms. */
  readonly runLowerMs: number;
  /** The same from the network bounds alone. */
  readonly runNetworkMs: number;
  readonly polls: PollStats;
  /** Simulator CPU time during the whole run (ms). */
  readonly serverMs: number;
  readonly firstRequestAt: number;
  readonly lastRequestEnd: number;
  readonly maxConcurrent: number;
}

/**
 * Splits the validation requests into polls: each poll is one Thoth endpoint listing plus the
 * MDM reads started with it (they are issued together; the next poll starts after a sleep).
 */
function splitPolls(val: readonly LogEntry[]): LogEntry[][] {
  const anchors = val
    .filter(isThothEndpoints)
    .map((e) => e.at)
    .sort((a, b) => a - b);
  if (anchors.length === 0) return val.length ? [[...val]] : [];
  const polls: LogEntry[][] = anchors.map(() => []);
  const slack = 25; // MDM reads of a poll may reach the server a little before its Thoth read
  for (const e of val) {
    let k = 0;
    while (k + 1 < anchors.length && e.at >= anchors[k + 1]! - slack) k++;
    polls[k]!.push(e);
  }
  return polls;
}

/**
 * Jamf minimums:
 *  - membership: 1 — `smart-group-membership` returns every member id in one response.
 *  - inventory: ceil(n / 2000) — one `id=in=(…)` request per 2000 members (page-size cap; the
 *    ids fit the request line), issued once per run.
 *  - refresh: ceil(n / 1000) blank pushes (the action's body cap; Jamf documents none).
 *  - validation: per poll, 1 Thoth endpoint listing (unpaged API) + ceil(a / 2000) + ceil(b / 2000)
 *    inventory reads: of the u members seen confirmed neither by an earlier poll nor by this
 *    poll's listing (which comes first: a member it shows on the new key since the refresh
 *    needs no MDM read), a are known to have checked in since the refresh (the listing saw a
 *    heartbeat, or an earlier read their contact) and are asked for inventory reported since
 *    then, b = u − a for any contact since then. Two filters, two runs of requests: Jamf
 *    documents RSQL's `;` (AND) but no grouping of `,` (OR) that would put both in one.
 * Lower bounds: latency × rounds over 5 connections; validation cannot finish before the
 * device that completes `minHealthy` checked in, plus one poll round.
 */
function analyzeJamf(
  entries: readonly LogEntry[],
  phases: readonly Phase[],
  s: Scenario,
): { rows: PhaseRow[]; polls: PollStats } {
  const L = s.latencyMs;
  const by = (p: Phase) => entries.filter((_, i) => phases[i] === p);
  const n = s.members;
  const rows: PhaseRow[] = [];

  const srv = (list: readonly LogEntry[]): number => (list.length ? s.serverMs(...windowOf(list)) : 0);
  const mem = by('membership');
  rows.push({
    phase: 'membership',
    requests: mem.length,
    min: 1,
    why: 'smart-group-membership: all ids in 1 response',
    timeMs: busyMs(mem),
    networkMs: L,
    lowerMs: bound(L, L, srv(mem), mem.length, 1),
    lowerWhy: '1 request',
  });

  const inv = by('inventory');
  const invMin = Math.ceil(n / JAMF_IDS_PER_REQUEST);
  const invNet = L * rounds(invMin, JAMF_CONNECTIONS);
  rows.push({
    phase: 'inventory',
    requests: inv.length,
    min: invMin,
    why: `ceil(${n}/${JAMF_IDS_PER_REQUEST}) id=in=(…) pages, read once`,
    timeMs: busyMs(inv),
    networkMs: invNet,
    lowerMs: bound(invNet, L, srv(inv), inv.length, invMin, false, JAMF_CONNECTIONS),
    lowerWhy: `${rounds(invMin, JAMF_CONNECTIONS)} round(s) of ${JAMF_CONNECTIONS} connections`,
  });

  const push = by('refresh');
  const pushMin = Math.ceil(n / JAMF_PUSH_PER_REQUEST);
  const pushNet = L * rounds(pushMin, JAMF_CONNECTIONS);
  rows.push({
    phase: 'refresh',
    requests: push.length,
    min: pushMin,
    why: `ceil(${n}/${JAMF_PUSH_PER_REQUEST}) blank pushes`,
    timeMs: busyMs(push),
    networkMs: pushNet,
    lowerMs: bound(pushNet, L, srv(push), push.length, pushMin, false, JAMF_CONNECTIONS),
    lowerWhy: `${rounds(pushMin, JAMF_CONNECTIONS)} round(s) of ${JAMF_CONNECTIONS} connections`,
  });

  // Validation: which devices an earlier poll already saw confirmed (checked in with the new
  // key before the server answered that poll's read).
  const val = by('validation');
  const polls = splitPolls(val);
  const confirmedSeen = new Uint8Array(n);
  const surelySeen = new Uint8Array(n);
  const contactRead = new Uint8Array(n);
  // The refresh as the model sees it: its first request (whatever the push's path).
  const refreshAt = push[0]?.at ?? Number.NaN;
  const heartbeatAt = Float64Array.from({ length: n }, (_, i) => s.nextHeartbeat?.(i, refreshAt) ?? Number.NaN);
  let oneFilter = 0;
  let confirmedCount = 0;
  let min = 0;
  let needed = 0;
  let reads = 0;
  let reread = 0;
  let lastPollMin = 1;
  for (const poll of polls) {
    // The poll's Thoth listing comes first: a member it shows on the new key, seen since the
    // refresh, needs no MDM read. The listing reports the fleet as it was when the server began
    // to answer (one latency after the request): a check-in during its rendering and transfer
    // (~0.3 s for 50,000 rows) is not in it.
    for (const e of poll) {
      if (!isThothEndpoints(e)) continue;
      for (let i = 0; i < n; i++) {
        const h = s.listedAt[i]!;
        if (Number.isNaN(h) || h > e.at + L) continue;
        if (!confirmedSeen[i]) (confirmedSeen[i] = 1), confirmedCount++;
        surelySeen[i] = 1;
      }
    }
    const u = n - confirmedCount;
    needed += u;
    const listing = poll.find(isThothEndpoints);
    let known = 0;
    for (let i = 0; i < n; i++) {
      if (confirmedSeen[i]) continue;
      const hb = heartbeatAt[i]!;
      if (contactRead[i] || (listing && hb > refreshAt && hb <= listing.at + L)) known++;
    }
    const invReads = Math.ceil(known / JAMF_IDS_PER_REQUEST) + Math.ceil((u - known) / JAMF_IDS_PER_REQUEST);
    oneFilter += 1 + Math.ceil(u / JAMF_IDS_PER_REQUEST);
    min += 1 + invReads;
    lastPollMin = Math.max(1, rounds(invReads, JAMF_CONNECTIONS));
    // A page is built between its arrival + latency and its answer. For the minimum, a device
    // counts as seen confirmed if it was healthy by the answer (fewest left to re-read); as a
    // wasted re-read only if it was healthy already at the earliest build time of an earlier page.
    const newly: number[] = [];
    const surely: number[] = [];
    for (const e of poll) {
      if (!isJamfInventory(e)) continue;
      for (const id of jamfFilterIds(e)) {
        reads++;
        const i = s.indexOfJamfId?.(id);
        if (i === undefined || i >= n) continue;
        if (surelySeen[i]) reread++;
        // Its contact since the refresh is known from here on (the fewest: if it was in by the answer).
        const c = s.checkedInAt[i]!;
        if (!Number.isNaN(c) && c <= end(e)) contactRead[i] = 1;
        // An inventory read confirms a device only with a fresh health report naming the new key.
        const h = s.reportedAt[i]!;
        if (Number.isNaN(h)) continue;
        if (h <= end(e)) newly.push(i);
        if (h <= e.at + L) surely.push(i);
      }
    }
    for (const i of newly) if (!confirmedSeen[i]) (confirmedSeen[i] = 1), confirmedCount++;
    for (const i of surely) surelySeen[i] = 1;
  }
  const refreshEnd = push.length ? Math.max(...push.map(end)) : 0;
  const tk = thresholdTime(s);
  const commitMs = commitsBeforeFirstPoll(entries, phases, refreshEnd);
  const valEnd = val.length ? Math.max(...val.map(end)) : refreshEnd;
  const wait = Math.max(0, tk - refreshEnd - commitMs);
  const last = polls[polls.length - 1] ?? [];
  const valNet = wait + L * lastPollMin;
  rows.push({
    phase: 'validation',
    requests: val.length,
    min,
    why: `${polls.length} poll(s): 1 Thoth listing + ceil(known checked in/${JAMF_IDS_PER_REQUEST}) + ceil(rest/${JAMF_IDS_PER_REQUEST}) of the unconfirmed each`,
    timeMs: valEnd - refreshEnd - commitMs,
    networkMs: valNet,
    lowerMs: wait + bound(L * lastPollMin, L, srv(last), 1, 1),
    lowerWhy: `${Math.round(wait)} ms until ${pct(s.minHealthy)} of active checked in + 1 poll`,
  });
  const firstPollAfterMs = firstPollAfter(polls, refreshEnd);
  return {
    rows,
    polls: {
      polls: polls.length,
      rereadConfirmed: reread,
      neededReads: needed,
      reads,
      firstPollAfterMs,
      lastListingAfterMs: lastListingAfter(polls, tk),
      oneFilterMin: oneFilter,
    },
  };
}

/**
 * Intune minimums (macOS devices; Windows adds remediation run states):
 *  - membership: ceil(n / 999) `transitiveMembers/microsoft.graph.device` pages (`$top` ≤ 999)
 *    + 1 `transitiveMembers/microsoft.graph.user` page (the bench groups have no user members).
 *    The spec's member call is the device cast, and an OData cast lists one type per request,
 *    so the users a group may hold (mapped to their managed devices) need a listing of their
 *    own; it runs beside the device listing, so the time bound is the device pages alone.
 *  - inventory: ceil(N / 1000) `managedDevices` pages, N = every managed device of the tenant:
 *    `$filter` on managedDevices is unreliable, so the list is joined in memory (+ ceil(w/1000)
 *    run-state pages for w Windows members).
 *  - refresh: ceil(n / 20) `$batch`es of `syncDevice` (20 per batch).
 *  - validation: per poll, 1 Thoth listing + min(ceil(N/1000) listing pages, ceil(u/20) `$batch`
 *    reads of the u devices confirmed neither earlier nor by this poll's listing) (+ run-state
 *    pages when Windows members exist).
 * Lower bounds: nextLink pages are sequential (latency × pages); syncs cannot beat the write
 * budget: the k-th write may start only after floor((k-1)/200) windows.
 */
function analyzeIntune(
  entries: readonly LogEntry[],
  phases: readonly Phase[],
  s: Scenario,
): { rows: PhaseRow[]; polls: PollStats } {
  const srv = (list: readonly LogEntry[]): number => (list.length ? s.serverMs(...windowOf(list)) : 0);
  const L = s.latencyMs;
  const by = (p: Phase) => entries.filter((_, i) => phases[i] === p);
  const n = s.members;
  const rows: PhaseRow[] = [];
  const devicePages = Math.ceil(n / GRAPH_MEMBERS_PAGE);
  const memMin = devicePages + 1;
  const mem = by('membership');
  rows.push({
    phase: 'membership',
    requests: mem.length,
    min: memMin,
    why: `ceil(${n}/${GRAPH_MEMBERS_PAGE}) device-cast pages + 1 user-cast page`,
    timeMs: busyMs(mem),
    networkMs: L * devicePages,
    lowerMs: bound(L * devicePages, L, srv(mem), mem.length, memMin, true),
    lowerWhy: 'nextLink pages are sequential; the user cast runs beside them',
  });

  const listPages = Math.ceil(s.managed / GRAPH_DEVICES_PAGE);
  const runStatePages = s.windows ? Math.ceil(s.windows / GRAPH_DEVICES_PAGE) : 0;
  const inv = by('inventory');
  const invMin = listPages + runStatePages;
  rows.push({
    phase: 'inventory',
    requests: inv.length,
    min: invMin,
    why: `ceil(${s.managed}/${GRAPH_DEVICES_PAGE}) managedDevices pages${runStatePages ? ` + ${runStatePages} run-state page(s)` : ''}`,
    timeMs: busyMs(inv),
    networkMs: L * Math.max(listPages, runStatePages),
    lowerMs: bound(L * Math.max(listPages, runStatePages), L, srv(inv), inv.length, invMin, true),
    lowerWhy: 'nextLink pages are sequential',
  });

  const sync = by('refresh');
  const syncMin = Math.ceil(n / GRAPH_BATCH);
  const { writes, windowMs } = s.budget;
  const throttleMs = Math.floor(Math.max(0, n - 1) / writes) * windowMs + L;
  rows.push({
    phase: 'refresh',
    requests: sync.length,
    min: syncMin,
    why: `ceil(${n}/${GRAPH_BATCH}) $batch syncDevice`,
    timeMs: busyMs(sync, windowMs),
    networkMs: Math.max(L, throttleMs),
    lowerMs: bound(Math.max(L, throttleMs), L, srv(sync), sync.length, syncMin),
    lowerWhy: `${writes} writes/${windowMs / 1000} s: ${Math.floor(Math.max(0, n - 1) / writes)} full window(s)`,
  });

  const val = by('validation');
  const polls = splitPolls(val);
  let min = 0;
  let needed = 0;
  let confirmed = 0;
  let lastPollNet = L;
  const seen = new Uint8Array(n);
  for (const poll of polls) {
    // Members the poll's Thoth listing already shows on the new key (as of one latency after
    // the request, when the server began to answer) need no MDM read.
    const listing = poll.find(isThothEndpoints);
    if (listing) {
      for (let i = 0; i < n; i++) {
        const h = s.listedAt[i]!;
        if (!seen[i] && !Number.isNaN(h) && h <= listing.at + L) (seen[i] = 1), confirmed++;
      }
    }
    const u = n - confirmed;
    needed += u;
    const batches = Math.ceil(u / GRAPH_BATCH);
    min += 1 + Math.min(listPages, batches) + runStatePages;
    // The time of the request-minimal read: the tenant listing (nextLink pages one after
    // another, beside the Thoth listing), or — when fewer requests — the devices the Thoth
    // listing left out, 20 per $batch, 5 at a time, after it.
    lastPollNet = L * Math.max(listPages <= batches ? listPages : 1 + rounds(batches, 5), runStatePages, 1);
    // The MDM reads confirm only devices with a fresh health report (Windows remediation output).
    const t = Math.max(...poll.map((e) => e.at)) + L;
    for (let i = 0; i < n; i++) {
      const h = s.reportedAt[i]!;
      if (!seen[i] && !Number.isNaN(h) && h <= t) (seen[i] = 1), confirmed++;
    }
  }
  const refreshEnd = sync.length ? Math.max(...sync.map(end)) : 0;
  const commitMs = commitsBeforeFirstPoll(entries, phases, refreshEnd);
  const valEnd = val.length ? Math.max(...val.map(end)) : refreshEnd;
  const tk = thresholdTime(s);
  const wait = Math.max(0, tk - refreshEnd - commitMs);
  const last = polls[polls.length - 1] ?? [];
  rows.push({
    phase: 'validation',
    requests: val.length,
    min,
    why: `${polls.length} poll(s): 1 Thoth listing + min(listing, unconfirmed/20 batches) each`,
    timeMs: valEnd - refreshEnd - commitMs,
    networkMs: wait + lastPollNet,
    lowerMs: wait + bound(lastPollNet, L, srv(last), 1, 1, lastPollNet > L),
    lowerWhy: `${Math.round(wait)} ms until ${pct(s.minHealthy)} of active checked in + 1 poll`,
  });
  const firstPollAfterMs = firstPollAfter(polls, refreshEnd);
  return {
    rows,
    polls: {
      polls: polls.length,
      rereadConfirmed: 0,
      neededReads: needed,
      reads: 0,
      firstPollAfterMs,
      lastListingAfterMs: lastListingAfter(polls, tk),
    },
  };
}

/** When the member completing `minHealthy` of the active devices became healthy (ms epoch; NaN if never). */
export function thresholdTime(s: Scenario): number {
  const k = Math.ceil(s.minHealthy * s.active - 1e-9);
  const times = Array.from(s.healthyAt)
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
  return k <= 0 ? 0 : (times[k - 1] ?? Number.NaN);
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

export function analyze(entries: readonly LogEntry[], s: Scenario, maxConcurrent: number): Analysis {
  const phases = classify(entries, s.mdm);
  const r = s.mdm === 'jamf' ? analyzeJamf(entries, phases, s) : analyzeIntune(entries, phases, s);
  const L = s.latencyMs;
  const ev = entries.filter((_, i) => phases[i] === 'evidence');
  const other = entries.filter((_, i) => phases[i] === 'other');
  // Evidence and control-plane/config calls are fixed by the runbook, not by fleet size. Evidence:
  // the branch and the record read, then the fewest commits the first apply's guarantees allow
  // (bench-github.ts); the other calls' minimum is what the run made; their bound one latency each.
  // Commits are sequential and the runbook's other calls run between them: the phase's time is
  // its requests' own time (gaps not joined), its bound one latency plus the simulator's work each.
  const evSrv = ev.reduce((a, e) => a + s.serverMs(e.at, end(e)), 0);
  const commits = ev.filter((e) => e.method === 'PUT').length;
  r.rows.push({
    phase: 'evidence',
    requests: ev.length,
    min: 2 + EVIDENCE_COMMITS_MIN.apply,
    why: `branch + record read, ${EVIDENCE_COMMITS_MIN.apply} commits (fewest the guarantees allow)`,
    timeMs: busyMs(ev, 0),
    networkMs: L * ev.length,
    lowerMs: L * ev.length + evSrv + commits * s.commitHoldMs,
    lowerWhy: `sequential commits, each held ${s.commitHoldMs} ms by GitHub`,
  });
  // The preflight's Thoth fleet + key reads and the configuration read overlap the group read.
  const otherSeq = Math.max(0, other.length - 3);
  r.rows.push({
    phase: 'other',
    requests: other.length,
    min: other.length,
    why: 'tokens, profile/config, Thoth key calls (fixed)',
    timeMs: busyMs(other),
    networkMs: L * otherSeq,
    lowerMs: L * otherSeq,
    lowerWhy: 'sequential, preflight reads overlap',
  });
  // The run's critical path: the phases one after another (the runbook orders them), the
  // fixed calls one latency each. Intune's device listing does not need the group read, so
  // the two overlap (Jamf's inventory needs the member ids first).
  const lower = (p: Phase): number => r.rows.find((x) => x.phase === p)?.lowerMs ?? 0;
  const overlap = s.mdm === 'intune' ? Math.min(lower('membership'), lower('inventory')) : 0;
  const runLowerMs = r.rows.reduce((a, x) => a + x.lowerMs, 0) - overlap;
  const net = (p: Phase): number => r.rows.find((x) => x.phase === p)?.networkMs ?? 0;
  const runNetworkMs =
    r.rows.reduce((a, x) => a + x.networkMs, 0) -
    (s.mdm === 'intune' ? Math.min(net('membership'), net('inventory')) : 0);
  return {
    rows: r.rows,
    totalRequests: entries.length,
    totalMin: r.rows.reduce((a, x) => a + x.min, 0),
    runLowerMs,
    runNetworkMs,
    polls: r.polls,
    serverMs: entries.length ? s.serverMs(...windowOf(entries)) : 0,
    firstRequestAt: entries.length ? Math.min(...entries.map((e) => e.at)) : Number.NaN,
    lastRequestEnd: entries.length ? Math.max(...entries.map(end)) : Number.NaN,
    maxConcurrent,
  };
}
