import { describe, expect, it } from 'vitest';
import type { RotationOutcome } from '../../src/rotation/context.js';
import type { Verdict } from '../../src/rotation/verdict.js';
import { renderSummary } from '../../src/summary.js';

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
    evidenceUrl: (p) => `https://github.com/acme/rotations/blob/HEAD/${p}`,
  });

  it('has no HTML element but its own <details>, <summary> and <wbr>', () => {
    const tags = [...md.matchAll(/<\/?([a-z]+)/gi)].map((m) => m[1]!.toLowerCase());
    expect(new Set(tags)).toEqual(new Set(['details', 'summary', 'wbr']));
  });

  it('has exactly one link: the evidence record, percent-encoded', () => {
    expect([...md.matchAll(/\]\(/g)]).toHaveLength(1);
    expect(md).toContain('](https://github.com/acme/rotations/blob/HEAD/.thoth/evidence/flt-1/corpsec%20%281%29.json)');
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
