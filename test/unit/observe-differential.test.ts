/**
 * A Jamf poll reads only what is news, and the verdict must not notice. Two pollers watch the
 * same randomised fleet: one with a Jamf that answers the action's filters (a device not known
 * to have checked in: any contact since the group was read; one known to have: inventory
 * submitted since then), and a reference with a Jamf that ignores every filter and answers each
 * asked device with what it holds now: a poller that misses nothing. Both run the real
 * Observer, JamfProvider and verdict; after every poll their verdicts must be identical, field
 * for field. The fleets mix what makes joins hard (MDM names shared by two devices, Thoth
 * hostnames shared by two endpoints, drifted and missing endpoints, renames that arrive with an
 * inventory report, hostnames that change on the Thoth side), null control-plane key ids,
 * inactive devices that wake for the push, unreadable health, and contacts and reports made
 * between the group read and the refresh.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../sim/util.js';
import type { JamfApi, JamfComputer, InventoryOptions } from '../../src/clients/jamf.js';
import { JamfProvider } from '../../src/mdm/jamf-provider.js';
import type { MdmDevice } from '../../src/mdm/provider.js';
import type { ThothEndpointObs } from '../../src/observations.js';
import { Observer } from '../../src/rotation/observe.js';
import type { Verdict } from '../../src/rotation/verdict.js';
import type { RunbookDeps } from '../../src/runbook/deps.js';

const OLD = 'key-old';
const NEW = 'key-new';
const DAY = 86_400_000;

/** The simulators' seeded stream (sim/util.ts), as a function: a failing fleet re-runs from its seed. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

interface Device {
  id: number;
  name: string;
  key: string;
  lastContact: number;
  reportDate: number;
  health: string | undefined;
  endpoints: ThothEndpointObs[];
}

class World {
  readonly devices: Device[] = [];
  readonly #r: () => number;
  readonly #nullKeyIds: boolean;

  constructor(seed: number) {
    const r = rng(seed);
    this.#r = r;
    this.#nullKeyIds = r() < 0.3;
    const n = 3 + Math.floor(r() * 12);
    const now = Date.now();
    for (let k = 0; k < n; k++) {
      const lastContact = now - (r() < 0.2 ? 9 * DAY : r() * DAY);
      const name = r() < 0.15 && k > 0 ? this.devices[Math.floor(r() * k)]!.name : `mac-${k}`;
      const d: Device = {
        id: 101 + k,
        name,
        key: OLD,
        lastContact,
        reportDate: lastContact - r() * DAY,
        health: r() < 0.85 ? healthText(OLD) : undefined,
        endpoints: [],
      };
      const endpoints = r() < 0.1 ? 0 : r() < 0.15 ? 2 : 1;
      for (let e = 0; e < endpoints; e++)
        d.endpoints.push({
          endpointId: `ep-${k}-${e}`,
          hostname: r() < 0.1 ? `drifted-${k}` : name,
          ...(this.#nullKeyIds ? {} : { keyId: OLD }),
          lastSeen: lastContact - r() * 60_000,
        });
      this.devices.push(d);
    }
  }

  /** Random things happen to random devices, now. */
  step(): void {
    const r = this.#r;
    const now = Date.now();
    for (const d of this.devices) {
      if (r() < 0.3) continue;
      const roll = r();
      if (roll < 0.35) {
        d.lastContact = now; // checks in with Jamf (a blank push answered)
        if (r() < 0.8) d.key = NEW; // and installs the profile
      } else if (roll < 0.6) {
        this.#report(d, now);
      } else if (roll < 0.95) {
        for (const ep of d.endpoints) {
          if (r() < 0.2) continue; // a proxy that is down
          ep.lastSeen = now;
          if (!this.#nullKeyIds) ep.keyId = d.key;
        }
      } else if (d.endpoints[0]) {
        d.endpoints[0].hostname = this.#someName(); // the laptop renamed: Thoth sees it first
      }
    }
  }

  /** A report made before the refresh, after the group was read (the provider's window). */
  reportSome(): void {
    for (const d of this.devices) if (this.#r() < 0.3) this.#report(d, Date.now());
  }

  #report(d: Device, now: number): void {
    d.reportDate = now;
    d.lastContact = now; // submitting inventory is a contact
    d.health = this.#r() < 0.1 ? '{not json' : healthText(d.key);
    if (this.#r() < 0.15) d.name = this.#someName(); // a rename arrives with inventory
  }

  #someName(): string {
    const r = this.#r;
    return r() < 0.5 ? this.devices[Math.floor(r() * this.devices.length)]!.name : `renamed-${Math.floor(r() * 4)}`;
  }

  endpoints(): ThothEndpointObs[] {
    return this.devices.flatMap((d) => d.endpoints.map((ep) => ({ ...ep })));
  }
}

function healthText(key: string): string {
  return JSON.stringify({ api_key: { key_id: key, revoked: false, expired: false } });
}

/** Time passes (Date only: the pollers' clocks are `Date.now()` and `new Date()`). */
const pass = (ms: number) => vi.setSystemTime(Date.now() + ms);

const wholeSecond = (d: Date): number => Math.floor(d.getTime() / 1000) * 1000;

/**
 * Jamf as the RSQL filters describe it; `filtered: false` ignores every time filter and answers
 * every asked id with what Jamf holds now: the reference, a poller that misses nothing.
 */
function fakeJamf(world: World, filtered: boolean): JamfApi {
  const computer = (d: Device): JamfComputer => ({
    id: String(d.id),
    name: d.name,
    managementId: `m-${d.id}`,
    lastContact: new Date(d.lastContact).toISOString(),
    reportDate: new Date(d.reportDate).toISOString(),
    ...(d.health !== undefined ? { attribute: [d.health] } : {}),
  });
  return {
    groupMembers: async () => world.devices.map((d) => d.id),
    inventory: async <T>(
      ids: readonly number[],
      _attribute: string | undefined,
      toItem: (c: JamfComputer) => T,
      opts: InventoryOptions = {},
    ): Promise<T[]> => {
      const out: T[] = [];
      for (const id of ids) {
        const d = world.devices.find((x) => x.id === id);
        if (!d) continue;
        if (filtered && opts.contactedSince) {
          const byReport = opts.reportedOnly?.has(id);
          if ((byReport ? d.reportDate : d.lastContact) < wholeSecond(opts.contactedSince)) continue;
        }
        out.push(toItem(computer(d)));
      }
      return out;
    },
    blankPush: async () => [],
    apiShape: async () => {
      throw new Error('not used');
    },
    getProfile: async () => {
      throw new Error('not used');
    },
    putProfilePayloads: async () => {
      throw new Error('not used');
    },
    close: async () => undefined,
  } as unknown as JamfApi;
}

function poller(world: World, filtered: boolean, healthAttribute: boolean) {
  const provider = new JamfProvider(
    fakeJamf(world, filtered),
    {
      url: 'https://jamf.example',
      profileId: 1,
      groupId: 1,
      ...(healthAttribute ? { healthAttribute: 'Thoth Health' } : {}),
    },
    { domain: 'com.example', apiKey: 'a', keyId: 'k', revokedKeyIds: 'r' },
  );
  const deps = {
    thoth: { listEndpoints: async () => world.endpoints() },
    mdm: provider,
    intent: { fleet: { id: 'fleet' }, validation: { activeWithinMs: 7 * DAY, minHealthy: 0.5 } },
    now: () => new Date(),
  } as unknown as RunbookDeps;
  return { provider, deps };
}

/** What a verdict says, in a form two verdicts can be compared by (drift lines included). */
const said = (v: Verdict) => JSON.parse(JSON.stringify(v)) as unknown;

describe('Jamf polls: the time filters change what is downloaded, never the verdict', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
  afterEach(() => vi.useRealTimers());

  it('over 300 random fleets and 6 polls each, the filtered poller reaches the verdicts of one that reads everything', async () => {
    let compared = 0;
    let passed = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const world = new World(seed);
      const healthAttribute = seed % 5 !== 0;
      const a = poller(world, true, healthAttribute);
      const b = poller(world, false, healthAttribute);
      const r = rng(seed * 7919);
      const devA: MdmDevice[] = await a.provider.members();
      const devB: MdmDevice[] = await b.provider.members();
      pass(r() * 60_000); // key created, authorized, deployed...
      world.reportSome();
      pass(1 + r() * 30_000);
      const refreshSentAt = new Date();
      await a.provider.refresh(devA);
      await b.provider.refresh(devB);
      const obsA = new Observer(a.deps, devA, refreshSentAt, NEW, OLD);
      const obsB = new Observer(b.deps, devB, refreshSentAt, NEW, OLD);
      for (let poll = 1; poll <= 6; poll++) {
        pass(1 + r() * 10_000);
        world.step();
        const [va, vb] = [await obsA.observe(), await obsB.observe()];
        expect(said(va), `seed ${seed}, poll ${poll}`).toEqual(said(vb));
        compared++;
        if (va.pass) passed++;
      }
    }
    // Not vacuous: the fleets reach both verdicts.
    expect(compared).toBe(1800);
    expect(passed).toBeGreaterThan(50);
    expect(compared - passed).toBeGreaterThan(50);
  });
});
