/**
 * Jamf Pro 11.0 and later by the server's version (issue 12 item 2), through the bundled action:
 * a whole rotation (plan, apply, revoke the old key after the window) against simulated servers
 * of three inventory generations, judged from the paths the simulator saw and the fleet's
 * state; a server older than 11.0 stops in preflight with nothing mutated.
 */
import { describe, expect, it } from 'vitest';
import { NEWEST_JAMF_VERSION, startSimulators, type LogEntry, type Simulators } from '../../sim/index.js';
import { readManagedSettings } from '../mdm-values.js';
import { expectNoLeaks, finishRotation, mintedKeys, readEvidence } from './evidence.js';
import {
  FAST_SIGNALS,
  jamfIntent,
  makeWorkspace,
  runAction,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
} from './harness.js';

const NAMES = {
  domain: 'com.atensecurity.thoth',
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revokedKeyIds: 'THOTH_REVOKED_API_KEY_IDS',
};
const VALIDATION =
  'validation:\n  window: 12s\n  minHealthy: 80%\n  activeWithin: 7d\n  timeout: 15s\n  pollInterval: 200ms';

function run(s: Simulators, ws: Workspace, mode: 'plan' | 'apply'): Promise<ActionRun> {
  return runAction({ workspace: ws, inputs: simInputs(s, { mode }), env: simEnv(s) });
}

const jamfCalls = (s: Simulators): LogEntry[] => s.log.entries().filter((e) => e.system === 'jamf');
/** `METHOD path` of each Jamf call, ids at the end of the path elided (`/{id}`), each once. */
const paths = (s: Simulators): string[] => [
  ...new Set(jamfCalls(s).map((e) => `${e.method} ${e.path.replace(/\/[\d,]+$/, '/{id}')}`)),
];

interface Generation {
  readonly version: string;
  readonly inventory: string;
  readonly contactFilter: string;
  /** Method + path (ids elided) the version's run must call. */
  readonly calls: readonly string[];
  /** Paths of other generations it must never call. */
  readonly never: RegExp;
}

const GENERATIONS: readonly Generation[] = [
  {
    version: '11.5.1-t1718634702',
    inventory: '/api/v1/computers-inventory',
    contactFilter: 'general.lastContactTime',
    calls: ['GET /JSSResource/computergroups/id/{id}', 'POST /JSSResource/computercommands/command/BlankPush/id/{id}'],
    never: /\/api\/v[234]\/computers-inventory|smart-group-membership|\/api\/v2\/mdm\/blank-push/,
  },
  {
    version: '11.25.2-t1772925731845',
    inventory: '/api/v3/computers-inventory',
    contactFilter: 'general.lastContactTime',
    calls: ['GET /api/v2/computer-groups/smart-group-membership/{id}', 'POST /api/v2/mdm/blank-push'],
    never: /\/api\/v[124]\/computers-inventory|\/api\/v3\/computer-groups|computercommands|computergroups/,
  },
  {
    version: NEWEST_JAMF_VERSION,
    inventory: '/api/v4/computers-inventory',
    contactFilter: 'general.lastContact',
    calls: ['GET /api/v3/computer-groups/smart-group-membership/{id}', 'POST /api/v2/mdm/blank-push'],
    never: /\/api\/v[123]\/computers-inventory|\/api\/v2\/computer-groups|computercommands|computergroups/,
  },
];

// Each case has its own simulators; concurrent, their 12 s validation windows overlap instead of adding up.
describe.concurrent('Jamf Pro by server version (bundled action against the simulators)', () => {
  for (const g of GENERATIONS) {
    it(`Jamf Pro ${g.version}: plan, apply, revoke after the window, using only ${g.inventory} and that version's calls`, async ({
      onTestFinished,
    }) => {
      const s = await startSimulators({
        fleet: { size: 12, offline: 1, stuck: 1, ...FAST_SIGNALS },
        jamf: { version: g.version },
      });
      onTestFinished(() => s.close());
      const ws = makeWorkspace();
      ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s, { validation: VALIDATION }));

      const plan = await run(s, ws, 'plan');
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
      expect(s.log.mutations()).toEqual([]);

      s.log.clear();
      const first = await run(s, ws, 'apply');
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.outputs['status']).toBe('in-progress');

      // What the simulated server saw: its version read once, then only its own calls, none refused.
      const called = paths(s);
      expect(jamfCalls(s).filter((e) => e.path === '/api/v1/jamf-pro-version')).toHaveLength(1);
      expect(called).toContain(`GET ${g.inventory}`);
      for (const c of g.calls) expect(called, c).toContain(c);
      expect(called.filter((p) => g.never.test(p))).toEqual([]);
      expect(jamfCalls(s).filter((e) => e.status === 404 || e.status === 400)).toEqual([]);
      // Validation polls filter on the version's own contact field, or (devices known to have
      // checked in) on general.reportDate, which every version has; the server accepted both.
      const polls = jamfCalls(s).filter(
        (e) => e.path === g.inventory && decodeURIComponent(e.query).includes(';general.'),
      );
      expect(polls.some((p) => decodeURIComponent(p.query).includes(`;${g.contactFilter}>=`))).toBe(true);
      for (const p of polls)
        expect(decodeURIComponent(p.query)).toMatch(
          new RegExp(`;(${g.contactFilter.replace('.', '\\.')}|general\\.reportDate)>=`),
        );

      // Every group member was woken, by the version's push.
      const group = new Set(s.jamf.groupMembers());
      const members = s.fleet.endpoints().filter((e) => group.has(e.index));
      expect(members).toHaveLength(12);
      if (g.calls.includes('POST /api/v2/mdm/blank-push')) {
        const pushed = jamfCalls(s)
          .filter((e) => e.path === '/api/v2/mdm/blank-push')
          .flatMap((e) => JSON.parse(e.bodyText!).clientManagementIds as string[]);
        expect(pushed.sort()).toEqual(members.map((e) => e.managementId).sort());
      } else {
        const pushed = jamfCalls(s)
          .filter((e) => e.path.startsWith('/JSSResource/computercommands/command/BlankPush/id/'))
          .flatMap((e) => e.path.split('/id/')[1]!.split(',').map(Number));
        expect(pushed.sort((a, b) => a - b)).toEqual(members.map((e) => e.jamfId).sort((a, b) => a - b));
      }

      // The fleet: the configuration delivers the new key, and the devices that check in run it.
      const key = mintedKeys(s)[0]!;
      expect(readManagedSettings(s.jamf.profileVersions().at(-1)!, NAMES).keyId).toBe(key.id);
      for (const e of members)
        expect(e.keyId, `${e.hostname} (${e.behaviour})`).toBe(e.behaviour === 'online' ? key.id : s.ids.oldKeyId);
      const rec = readEvidence(s)!;
      expect(rec.state).toBe('awaiting-revocation');
      expect(rec.validation).toMatchObject({ total: 12, healthy: 10 });

      const { early, second, third } = await finishRotation(s, rec.validatedAt!, () => run(s, ws, 'apply'));
      expect(s.thoth.keys().find((k) => k.id === key.id)!.active).toBe(true);
      expect(readEvidence(s)!.events.map((e) => e.step)).toEqual(
        expect.arrayContaining(['refresh', 'validate', 'revalidate', 'revoke-old-key', 'confirm-revocation']),
      );
      expectNoLeaks(s, [plan, first, early, second, third]);
    }, 120_000);
  }

  it('Jamf Pro 10.49 fails in preflight, naming its version and what is supported, with nothing mutated', async ({
    onTestFinished,
  }) => {
    const s = await startSimulators({ fleet: { size: 5 }, jamf: { version: '10.49.0-t1694607215' } });
    onTestFinished(() => s.close());
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/corpsec.yaml', jamfIntent(s));
    const before = s.jamf.profileVersions();

    for (const mode of ['plan', 'apply'] as const) {
      s.log.clear();
      const r = await run(s, ws, mode);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toContain('Jamf Pro 10.49.0-t1694607215; thoth-rotate supports Jamf Pro 11.0 and later');
      expect(r.summary).toContain('10.49.0');
      expect(s.log.mutations()).toEqual([]);
      // Jamf saw the token request, the version read and the token's invalidation: nothing else.
      expect(
        jamfCalls(s)
          .map((e) => e.path)
          .filter((p) => !/\/oauth\/token$|\/invalidate-token$/.test(p)),
      ).toEqual(['/api/v1/jamf-pro-version']);
    }
    expect(mintedKeys(s)).toEqual([]);
    expect(s.jamf.profileVersions()).toEqual(before);
    expect(s.fleet.endpoints().every((e) => e.refreshes === 0)).toBe(true);
    expect(readEvidence(s)).toBeUndefined();
  });
});
