/**
 * What the simulators saw, kept for the test oracle (test/oracle/judge.ts) and never cleared
 * (unlike the request log, which tests clear between phases): the fleet and the delivered
 * configuration at every DELETE, keys minted over HTTP, every device check-in and every
 * refresh an MDM relayed. Observations only: nothing here changes how a simulator answers.
 */
import type { Fleet, FleetSnapshot } from './fleet.js';
import type { ThothState } from './thoth.js';

export interface DeleteRecord extends FleetSnapshot {
  readonly keyId: string;
  /** The key existed in the tenant and was active: the DELETE revoked it. */
  readonly revokes: boolean;
}

export interface CheckIn {
  readonly at: number;
  readonly index: number;
  readonly keyId: string;
}

export class SimJournal {
  readonly deletes: DeleteRecord[] = [];
  readonly created: { at: number; keyId: string }[] = [];
  readonly checkIns: CheckIn[] = [];
  /** Times of refresh requests relayed to fleet devices (one entry per distinct millisecond). */
  readonly refreshes: number[] = [];

  constructor(thoth: ThothState, fleet: Fleet, tenant: string) {
    thoth.onDelete.push((keyId) => {
      const k = thoth.key(keyId);
      this.deletes.push({ ...fleet.snapshot(), keyId, revokes: !!k && k.tenant === tenant && k.revokedAt === null });
    });
    thoth.onCreate.push((keyId) => this.created.push({ at: Date.now(), keyId }));
    fleet.onCheckIn((i) => {
      if (fleet.inFleet(i)) this.checkIns.push({ at: Date.now(), index: i, keyId: fleet.keyId(i) });
    });
    fleet.onRefresh((i) => {
      const now = Date.now();
      if (fleet.inFleet(i) && this.refreshes.at(-1) !== now) this.refreshes.push(now);
    });
  }
}
