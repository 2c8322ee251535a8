/**
 * The Entra directory behind the Graph simulator: the target group, optional nested groups,
 * optional user members (whose devices are reachable only through the user), and the
 * directory objects listed by /groups/{id}/members and /transitiveMembers.
 * Member lists are cached as arrays of encoded refs so paging 50,000 devices stays cheap.
 */
import type { Fleet } from './fleet.js';
import { hashUuid, iso } from './util.js';

export type Cast = 'device' | 'user' | 'group' | undefined;

// Ref encoding: device fleet index i -> i; user u -> -(u + 1); nested group g -> GROUP_BASE - g.
const GROUP_BASE = -1_000_000_000;

export interface DirectoryConfig {
  seed: number;
  groupId: string;
  nestedGroups: boolean;
  userMembers: number;
}

export class Directory {
  readonly groupId: string;
  readonly nestedIds: string[];
  private readonly fleet: Fleet;
  private readonly seed: number;
  private readonly userDevice: number[] = [];
  private readonly direct = new Map<string, number[]>();
  private readonly cache = new Map<string, number[]>();

  constructor(fleet: Fleet, cfg: DirectoryConfig) {
    this.fleet = fleet;
    this.seed = cfg.seed;
    this.groupId = cfg.groupId;
    this.nestedIds = cfg.nestedGroups ? [hashUuid(cfg.seed, 8, 0), hashUuid(cfg.seed, 8, 1)] : [];
    const devices: number[] = [];
    for (let i = 0; i < fleet.size; i++) if (fleet.inIntune(i)) devices.push(i);
    // The last `userMembers` devices are only reachable through their (primary) user.
    const viaUser = devices.splice(Math.max(0, devices.length - cfg.userMembers));
    this.userDevice.push(...viaUser);
    const root: number[] = [],
      a: number[] = [],
      b: number[] = [];
    devices.forEach((i, k) => (cfg.nestedGroups ? ([root, a, b][k % 3] ?? root) : root).push(i));
    for (let u = 0; u < viaUser.length; u++) root.push(-(u + 1));
    if (cfg.nestedGroups) {
      root.push(GROUP_BASE);
      a.push(GROUP_BASE - 1);
      this.direct.set(this.nestedIds[0] ?? '', a);
      this.direct.set(this.nestedIds[1] ?? '', b);
    }
    this.direct.set(cfg.groupId, root);
  }

  hasGroup(id: string): boolean {
    return this.direct.has(id);
  }
  userCount(): number {
    return this.userDevice.length;
  }
  userId(u: number): string {
    return hashUuid(this.seed, 7, u);
  }
  userIndex(id: string): number | undefined {
    for (let u = 0; u < this.userDevice.length; u++) if (this.userId(u) === id) return u;
    return undefined;
  }
  /** Fleet index of the (only) device owned by user u. */
  deviceOfUser(u: number): number | undefined {
    return this.userDevice[u];
  }

  /** Encoded member refs of a group, direct or transitive, optionally cast to one type. */
  members(groupId: string, transitive: boolean, cast: Cast): number[] {
    const key = `${groupId}|${transitive}|${cast ?? ''}`;
    let out = this.cache.get(key);
    if (out) return out;
    const all: number[] = [];
    const walk = (g: string): void => {
      for (const r of this.direct.get(g) ?? []) {
        all.push(r);
        if (transitive && r <= GROUP_BASE) walk(this.nestedIds[GROUP_BASE - r] ?? '');
      }
    };
    walk(groupId);
    out = cast === undefined ? all : all.filter((r) => kindOf(r) === cast);
    this.cache.set(key, out);
    return out;
  }

  /** The directory object for a ref, full (callers apply $select). */
  object(ref: number): Record<string, unknown> {
    const f = this.fleet;
    if (ref >= 0) {
      return {
        '@odata.type': '#microsoft.graph.device',
        id: f.entraObjectId(ref),
        deviceId: f.entraDeviceId(ref),
        displayName: f.mdmName(ref),
        operatingSystem: f.os(ref) === 'macos' ? 'MacMDM' : 'Windows',
        operatingSystemVersion: f.os(ref) === 'macos' ? '15.5' : '10.0.26100.4349',
        accountEnabled: true,
        approximateLastSignInDateTime: iso(f.lastSeen(ref)),
        isManaged: true,
        isCompliant: true,
        trustType: 'AzureAd',
      };
    }
    if (ref > GROUP_BASE) {
      const u = -ref - 1;
      return {
        '@odata.type': '#microsoft.graph.user',
        id: this.userId(u),
        displayName: `Engineer ${u + 1}`,
        userPrincipalName: `engineer${u + 1}@acme.example`,
        mail: `engineer${u + 1}@acme.example`,
        accountEnabled: true,
      };
    }
    const g = GROUP_BASE - ref;
    return {
      '@odata.type': '#microsoft.graph.group',
      id: this.nestedIds[g] ?? '',
      displayName: `Thoth CorpSec devices (part ${g + 2})`,
      securityEnabled: true,
      mailEnabled: false,
      groupTypes: [],
    };
  }
}

function kindOf(ref: number): Cast {
  return ref >= 0 ? 'device' : ref > GROUP_BASE ? 'user' : 'group';
}
