import { afterEach, describe, expect, it } from 'vitest';
import {
  buildDetectionScript,
  buildRemediationScript,
  REMEDIATION_OUTPUT_LIMIT,
  startSimulators,
  type SimOptions,
  type Simulators,
} from '../../sim/index.js';
import { graphToken, until } from './helpers.js';

/**
 * The Intune Management Extension of the simulated Windows devices (sim/remediation.ts, after
 * memdocs intune/fundamentals/remediations.md): when it fetches the remediation, that the
 * remediation script runs only after the detection script exits 1, and the 2,048-character cut.
 */
let s: Simulators | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

type Json = Record<string, unknown>;
const b64 = (t: string): string => Buffer.from(t).toString('base64');

async function start(o: SimOptions = {}) {
  const sims = (s = await startSimulators({
    ...o,
    fleet: { mdm: 'intune', os: 'windows', checkInDelayMs: [1, 10], ...o.fleet },
  }));
  const token = await graphToken(sims);
  const send = (m: string, u: string, body?: unknown): Promise<Response> =>
    fetch(`${sims.urls.graph}${u}`, {
      method: m,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const script = `/beta/deviceManagement/deviceHealthScripts/${sims.ids.remediationId}`;
  /** PATCHes a new key into both scripts (the detection one as given, or rendered for the key). */
  const deploy = async (o: { detection?: string; revoked?: string[]; sameKey?: boolean } = {}) => {
    const k = o.sameKey
      ? { keyId: sims.ids.oldKeyId, apiKey: sims.thoth.plaintextOf(sims.ids.oldKeyId)! }
      : sims.thoth.createKeyDirect({ scopeLevel: 'fleet', scopeTargetId: sims.ids.fleetId, permissions: ['read'] });
    const revoked = o.revoked ?? [];
    const r = await send('PATCH', script, {
      '@odata.type': '#microsoft.graph.deviceHealthScript',
      detectionScriptContent: b64(o.detection ?? buildDetectionScript({ keyId: k.keyId, revoked })),
      remediationScriptContent: b64(buildRemediationScript({ apiKey: k.apiKey, keyId: k.keyId, revoked })),
    });
    expect(r.status).toBe(204);
    return k.keyId;
  };
  const onDemand = (i: number) =>
    send(
      'POST',
      `/beta/deviceManagement/managedDevices/${sims.fleet.managedDeviceId(i)}/initiateOnDemandProactiveRemediation`,
      { scriptPolicyId: sims.ids.remediationId },
    );
  return { sims, send, deploy, onDemand };
}

describe('graph sim: the Intune Management Extension runs the remediation', () => {
  it('by default no device fetches the remediation on its own during a test (8-hour cycle)', async () => {
    const { sims, deploy } = await start({ fleet: { size: 6 } });
    await deploy();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 6; i++) expect(sims.graph.ime.runs(i)).toBe(0);
    expect(sims.fleet.keyCounts()).toEqual({ [sims.ids.oldKeyId]: 6 });
  });

  it('fetches on its own cycle', async () => {
    const { sims, deploy } = await start({ fleet: { size: 4 }, graph: { imeCycleMs: 400 } });
    const keyId = await deploy();
    await until(() => sims.fleet.keyCounts()[keyId] === 4, 5_000);
  });

  it('fetches at a restart or a sign-in', async () => {
    const { sims, deploy } = await start({ fleet: { size: 2 } });
    const keyId = await deploy();
    expect(sims.graph.ime.fetchNow(1)).toBe(true);
    expect(sims.fleet.keyId(1)).toBe(keyId);
    expect(sims.fleet.keyId(0)).toBe(sims.ids.oldKeyId);
  });

  it('the remediation script runs only when the detection script exits 1', async () => {
    const { sims, deploy, onDemand } = await start({ fleet: { size: 3, stuck: 1 } });
    // A detection script that only prints health cannot compare: it exits 0, nothing is installed.
    const printOnly = [
      '$health = & "$env:ProgramFiles\\Thoth\\thoth.exe" health --json',
      'Write-Output $health',
      'exit 0',
      '',
    ].join('\r\n');
    await deploy({ detection: printOnly });
    const stuck = sims.fleet.indices({ behaviour: 'stuck' })[0]!;
    const online = [0, 1, 2].find((i) => i !== stuck)!;
    expect((await onDemand(online)).status).toBe(204);
    await until(() => sims.graph.ime.runs(online) === 1);
    expect(sims.graph.runState(online)).toMatchObject({
      detectionState: 'success',
      remediationState: 'skipped',
      post: null,
    });
    expect(sims.fleet.keyId(online)).toBe(sims.ids.oldKeyId);
    // Rendered for the new key: exit 1, the remediation runs; a stuck device keeps its key (remediationFailed).
    const keyId = await deploy();
    await onDemand(online);
    await onDemand(stuck);
    await until(() => sims.graph.ime.runs(online) === 2 && sims.graph.ime.runs(stuck) === 1);
    expect(sims.graph.runState(online)).toMatchObject({ detectionState: 'fail', remediationState: 'success' });
    expect(sims.fleet.keyId(online)).toBe(keyId);
    expect(sims.graph.runState(stuck)).toMatchObject({ detectionState: 'fail', remediationState: 'remediationFailed' });
    expect(JSON.parse(sims.graph.runState(stuck)!.post!)).toMatchObject({ api_key: { key_id: sims.ids.oldKeyId } });
  });

  it('a new revoked list with the same key id also makes the detection script exit 1 (revocation without replacement)', async () => {
    const { sims, deploy, onDemand } = await start({ fleet: { size: 1 } });
    await deploy({ sameKey: true, revoked: ['key_leaked'] });
    await onDemand(0);
    await until(() => sims.graph.ime.runs(0) === 1);
    expect(sims.graph.runState(0)).toMatchObject({ detectionState: 'fail', remediationState: 'success' });
    expect(sims.fleet.revokedKnown(0)).toEqual(['key_leaked']);
  });

  it('keeps only the first 2,048 characters of each output', async () => {
    const { sims, deploy, onDemand } = await start({ fleet: { size: 1 } });
    await deploy();
    sims.fleet.setHealth(0, `{"api_key":{"key_id":"x"}}${' '.repeat(3_000)}`);
    await onDemand(0);
    await until(() => sims.graph.ime.runs(0) === 1);
    const st = sims.graph.runState(0)!;
    expect(REMEDIATION_OUTPUT_LIMIT).toBe(2048);
    expect([st.pre?.length, st.post?.length]).toEqual([2048, 2048]);
  });

  it('the on-demand action: Windows only, dropped by an offline device, a device write on the budget (429 + Retry-After), and works inside a beta $batch', async () => {
    const { sims, send, deploy, onDemand } = await start({
      fleet: { size: 8, os: 'mixed', offline: 4 },
      graph: { budget: { writes: 4, windowMs: 60_000 } },
    });
    await deploy(); // one write
    const mac = sims.fleet.indices({ os: 'macos' })[0]!;
    expect((await onDemand(mac)).status).toBe(400);
    const offline = sims.fleet.indices({ behaviour: 'offline', os: 'windows' })[0]!;
    const win = sims.fleet.indices({ os: 'windows', behaviour: 'online' });
    const batch = await send('POST', '/beta/$batch', {
      requests: [offline, win[0]!].map((i, n) => ({
        id: String(n + 1),
        method: 'POST',
        url: `/deviceManagement/managedDevices/${sims.fleet.managedDeviceId(i)}/initiateOnDemandProactiveRemediation`,
        headers: { 'content-type': 'application/json' },
        body: { scriptPolicyId: sims.ids.remediationId },
      })),
    });
    const { responses } = (await batch.json()) as { responses: { id: string; status: number }[] };
    expect(responses.map((r) => r.status)).toEqual([204, 204]);
    await until(() => sims.graph.ime.runs(win[0]!) === 1);
    expect(sims.graph.ime.runs(offline)).toBe(0);
    expect(sims.graph.onDemandRemediations(sims.fleet.managedDeviceId(offline))).toBe(1);
    expect((await onDemand(win[1]!)).status).toBe(204); // the fourth write of the window
    const limited = await onDemand(win[1]!);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as Json)['error']).toMatchObject({ code: 'TooManyRequests' });
    expect(sims.graph.writes()).toBe(4);
    expect(sims.log.mutations().filter((e) => e.path.endsWith('/initiateOnDemandProactiveRemediation'))).toHaveLength(
      3,
    );
  });
});
