import { describe, expect, it } from 'vitest';
import type { RotationOutcome } from '../../src/rotation/context.js';
import type { Verdict } from '../../src/rotation/verdict.js';
import { renderSummary } from '../../src/summary.js';
import { relative, shareAgainst, stateTrail } from '../../src/summary-glance.js';

/** Names a laptop owner, a server or an intent author could choose. */
const HOSTILE = [
  '[click](https://evil.example)',
  '![x](https://evil.example/i.png)',
  '<img src=x onerror=alert(1)>',
  '<a href="https://evil.example">x</a>',
  'www.evil.example',
  'ceo@evil.example',
  '@octocat',
  '#123',
  'a | b\n| c |',
  '\n::stop-commands::pwned\n',
  '\u202eexe.txt',
];

const verdict = (names: string[]): Verdict =>
  ({
    pass: false,
    reason: `too few healthy: ${HOSTILE[0]}`,
    total: names.length,
    active: names.length,
    inactive: 0,
    healthy: 0,
    onOldKey: 0,
    notCheckedIn: names.length,
    healthyShare: 0,
    stragglers: names.map((name, i) => ({ id: `ep-${i} ${HOSTILE[2]}`, name, reason: `not checked in ${HOSTILE[1]}` })),
    stragglersOmitted: 0,
    inactiveList: [],
    drift: [],
  }) as unknown as Verdict;

const outcome: RotationOutcome = {
  name: 'corpsec',
  fleet: 'flt-1',
  state: 'validating',
  status: 'in-progress',
  message: `validation pending on ${HOSTILE.join(' ')}`,
  newKeyId: 'key_new',
  oldKeyId: 'key_old',
  evidencePath: '.thoth/evidence/flt-1/corpsec (1).json',
  validation: verdict(HOSTILE),
  warnings: HOSTILE.map((h) => `drift: ${h}`),
};

describe('renderSummary with hostile values', () => {
  const md = renderSummary({
    title: 'thoth-rotate',
    mode: 'apply',
    status: 'in-progress',
    outcomes: [outcome],
    notes: [`note ${HOSTILE.join(' ')}`],
    error: `server said ${HOSTILE.join(' ')}`,
    evidenceLinks: (p) => ({ onBranch: `https://github.com/acme/rotations/blob/HEAD/${p}`, branch: 'main' }),
  });

  it('has no HTML element but its own <details>, <summary> and <wbr>', () => {
    const tags = [...md.matchAll(/<\/?([a-z]+)/gi)].map((m) => m[1]!.toLowerCase());
    expect(new Set(tags)).toEqual(new Set(['details', 'summary', 'wbr']));
  });

  it('has exactly one link: the evidence record, percent-encoded', () => {
    expect([...md.matchAll(/\]\(/g)]).toHaveLength(1);
    expect(md).toContain('(https://github.com/acme/rotations/blob/HEAD/.thoth/evidence/flt-1/corpsec%20%281%29.json)');
  });

  it('has no autolink, mention or issue reference in the source', () => {
    const source = md.replace(/<wbr>/g, '').replace('https://github.com/acme/rotations', '');
    expect(source).not.toMatch(/https?:\/\/|www\.|@|(?<!&)#\d/i);
  });

  it('keeps one table row per straggler (no "|" or line break from a name)', () => {
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && l.includes('(ep-'));
    expect(rows).toHaveLength(HOSTILE.length);
    for (const r of rows) expect(r.split('|')).toHaveLength(4);
  });

  it('has no control or bidi character and no line starting a workflow command', () => {
    expect(md).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
    for (const line of md.split('\n')) expect(line.trimStart().startsWith('::')).toBe(false);
  });
});

describe('renderSummary at a glance', () => {
  const now = new Date('2026-12-08T12:00:00Z');
  const v = { ...verdict(['a']), healthyShare: 0.9, reason: 'too few healthy' } as Verdict;
  const md = renderSummary({
    title: 'thoth-rotate',
    mode: 'apply',
    status: 'failed',
    now,
    outcomes: [
      {
        ...outcome,
        name: 'waiting',
        status: 'in-progress',
        state: 'awaiting-revocation',
        validation: undefined,
        message: 'old key revocation due at 2026-12-09T12:00:00.000Z',
        evidenceCommit: 'abcdef0123456789',
      },
      {
        ...outcome,
        name: 'stuck',
        status: 'rolled-back',
        state: 'rolled-back',
        validation: v,
        message: 'validation failed at 2026-12-08T11:48:00Z',
      },
    ],
    minHealthy: (name) => (name === 'stuck' ? 0.95 : undefined),
    evidenceLinks: (p, commit) => ({
      atCommit: commit ? `https://github.com/acme/r/blob/${commit}/${p}` : undefined,
      onBranch: `https://github.com/acme/r/blob/thoth-evidence/${p}`,
      branch: 'thoth-evidence',
    }),
  });

  it('shows each rotation on its runbook path: done, current, next', () => {
    expect(md).toContain(
      '- waiting: ✓ pending → ✓ created → ✓ authorized → ✓ deployed → ✓ refreshed → ✓ validated → ● awaiting-revocation → ○ completed',
    );
    expect(md).toContain('- stuck: ● rolled-back');
  });

  it('puts the healthy share beside its threshold', () => {
    expect(md).toContain('90.0% < 95%');
  });

  it('shows times in UTC to the minute and relative to now', () => {
    expect(md).toContain('2026-12-09 12:00 UTC (in 24 h)');
    expect(md).toContain('2026-12-08 11:48 UTC (12 min ago)');
    expect(md).not.toMatch(/\d{2}:\d{2}:\d{2}/);
  });

  it('lists failures as bullets before the table', () => {
    const bullet = md.indexOf('- **stuck**: validation failed');
    expect(bullet).toBeGreaterThan(0);
    expect(bullet).toBeLessThan(md.indexOf('| | intent |'));
    expect(md).not.toContain('- **waiting**');
  });

  it('links the record as of its commit and on the evidence branch', () => {
    expect(md).toContain(
      '[.thoth/evidence/flt-1/corpsec (1).json](https://github.com/acme/r/blob/abcdef0123456789/.thoth/evidence/flt-1/corpsec%20%281%29.json) (as of commit abcdef012345 · [latest on thoth-evidence](https://github.com/acme/r/blob/thoth-evidence/.thoth/evidence/flt-1/corpsec%20%281%29.json))',
    );
  });
});

describe('summary-glance', () => {
  it.each([
    [30_000, 'in 30 s'],
    [-90_000, '2 min ago'],
    [3 * 3_600_000, 'in 3 h'],
    [-47 * 3_600_000, '47 h ago'],
    [3 * 86_400_000, 'in 3 d'],
  ])('relative(%i ms) is %s', (d, want) => {
    expect(relative(1_000_000_000_000 + d, 1_000_000_000_000)).toBe(want);
  });

  it('shares: no threshold, at the threshold, below it', () => {
    expect(shareAgainst(undefined, 0.95)).toBe('—');
    expect(shareAgainst(0.5, undefined)).toBe('50.0%');
    expect(shareAgainst(0.95, 0.95)).toBe('95.0% ≥ 95%');
    expect(shareAgainst(0.949, 0.95)).toBe('94.9% < 95%');
  });

  it('a state off the path and the final state', () => {
    expect(stateTrail('failed')).toBe('● failed');
    expect(stateTrail('completed')).not.toContain('○');
    expect(stateTrail('pending').startsWith('● pending → ○ created')).toBe(true);
  });
});
