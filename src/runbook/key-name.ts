import type { RunInfo } from '../evidence/record.js';
import type { Intent } from '../intent/types.js';
import { repository } from '../run-info.js';

/**
 * Names of the keys this action mints. A name says which repository, fleet and intent minted
 * the key, and in which run:
 *
 *   thoth-rotate <owner>/<repo> <fleet.id>/<intent name> run <run id>.<attempt>
 *   thoth-rotate <owner>/<repo> <fleet.id>/<intent name> emergency run <run id>.<attempt>
 *
 * so a key whose plaintext died with a run can be found again and revoked, and only by the
 * repository and intent that minted it: none of the parts can contain a space, and each ends
 * at a fixed separator, so intent `corpsec` never claims `corpsec-2`'s keys, nor fleet
 * `flt-a` those of `flt-a-2`, nor `acme/rot` those of `acme/rot-2`.
 */
export interface KeyOwner {
  /** `owner/repo` (GITHUB_REPOSITORY). */
  readonly repository: string;
  readonly fleetId: string;
  readonly intentName: string;
}

export type MintKind = 'rotation' | 'emergency';

/** The owner of the keys `intent` mints from this repository (mutating modes always know it). */
export function keyOwner(intent: Pick<Intent, 'name' | 'fleet'>, repo = repository()): KeyOwner {
  if (!repo) throw new Error('GITHUB_REPOSITORY is not set: key names must name the repository that mints them');
  return { repository: `${repo.owner}/${repo.repo}`, fleetId: intent.fleet.id, intentName: intent.name };
}

/** Everything before the kind: the part that says who minted the key. */
function stem(o: KeyOwner): string {
  return `thoth-rotate ${o.repository} ${o.fleetId}/${o.intentName} `;
}

export function mintedKeyName(o: KeyOwner, kind: MintKind, run: Pick<RunInfo, 'id' | 'attempt'>): string {
  return `${stem(o)}${kind === 'emergency' ? 'emergency ' : ''}run ${run.id}.${run.attempt}`;
}

/** What follows the stem: the kind and the run. No character class overlaps the next separator: linear. */
const TAIL = /^(emergency )?run [A-Za-z0-9_-]+\.[0-9]+$/;

/**
 * True when `name` is exactly a name this owner mints (of `kind`, or of either kind), not
 * merely a name that starts the same way.
 */
export function isMintedBy(name: string | null | undefined, o: KeyOwner, kind?: MintKind): boolean {
  if (typeof name !== 'string') return false;
  const s = stem(o);
  if (!name.startsWith(s)) return false;
  const m = TAIL.exec(name.slice(s.length));
  if (!m) return false;
  return kind === undefined || (kind === 'emergency') === (m[1] !== undefined);
}
