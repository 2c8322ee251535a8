import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logText, markdownText, oneLine, visibleText } from '../../src/untrusted-text.js';
import { workflowCommands } from '../runner-commands.js';

/**
 * Every way a name could try to start a workflow command on a line of its own. `viewer`:
 * the runner does not end a line there (only a log viewer might), so it is no command
 * before neutralising either; the result must still not look like one to a viewer.
 */
const ATTACKS: { name: string; text: string; viewer?: true }[] = [
  { name: 'add-mask on its own line', text: 'mac-01\n::add-mask::x' },
  { name: 'stop-commands', text: 'mac-01\n::stop-commands::pwned\n' },
  { name: 'set-output (v2)', text: 'a\n::set-output name=status::completed' },
  { name: 'set-output (legacy ##[ form), mid-line', text: 'mac ##[set-output name=status;]completed' },
  { name: 'legacy form after CR', text: 'mac\r##[set-output name=status;]completed' },
  { name: 'error after CR', text: 'mac\r::error::fake failure' },
  { name: 'error after CR LF', text: 'mac\r\n::error::fake failure' },
  { name: 'error after U+2028', text: 'mac\u2028::error::x', viewer: true },
  { name: 'error after U+2029', text: 'mac\u2029::error::x', viewer: true },
  { name: 'error after NEL (U+0085)', text: 'mac\u0085::error::x', viewer: true },
  { name: 'after VT and FF', text: 'a\v::error::x\f::warning::y', viewer: true },
  { name: 'after leading spaces and tabs', text: 'a\n   \t ::warning::x' },
  { name: 'after no-break and ideographic spaces', text: 'a\n\u00a0\u3000\u2003::notice::x' },
  { name: 'soft hyphen before the colons (culture-sensitive StartsWith skips it)', text: 'a\n\u00ad::add-mask::x' },
  { name: 'zero-width space between the colons', text: 'a\n:\u200b:stop-commands::x' },
  { name: 'BOM before the colons', text: 'a\n\ufeff::stop-commands::x' },
  { name: 'bidi override before the colons', text: 'a\n\u202e::stop-commands::x' },
  { name: 'word joiner inside ##[', text: 'mac #\u2060#[set-output name=a;]b' },
  { name: 'NUL and ESC before the colons', text: 'a\n\u0000\u001b::debug::x' },
  { name: 'C1 control before the colons', text: 'a\n\u009b::debug::x' },
  { name: 'tag characters and a variation selector', text: 'a\n\u{E0041}\ufe0f::debug::x' },
  { name: 'lone surrogate', text: 'a\n\ud800::debug::x' },
  { name: 'group / endgroup', text: 'a\n::group::fake\n::endgroup::' },
  { name: 'only colons', text: '::', viewer: true },
  { name: 'three colons', text: ':::x::y' },
];

describe('logText', () => {
  it.each(ATTACKS)('the runner finds no command: $name', ({ text, viewer }) => {
    if (!viewer)
      expect(workflowCommands(text).length, 'the attack must be a command before neutralising').toBeGreaterThan(0);
    const out = logText(text);
    expect(workflowCommands(out)).toEqual([]);
    // Nor does a viewer that breaks lines at every Unicode line break see a line starting with "::".
    for (const line of out.split(/[\n\r\v\f\u0085\u2028\u2029]/)) expect(line.trimStart().startsWith('::')).toBe(false);
  });

  it('never leaves "##[" and never a line starting (after blanks) with "::"', () => {
    const out = logText('x ##[a] ##[b]\n  ::c::d\n##[');
    expect(out).not.toContain('##[');
    for (const line of out.split('\n')) expect(line.trimStart().startsWith('::')).toBe(false);
  });

  it('shows the attack instead of obeying it', () => {
    expect(logText('mac-01\n::stop-commands::pwned')).toBe('mac-01\n: :stop-commands::pwned');
    expect(logText('mac\r##[set-output name=status;]completed')).toBe('mac\n## [set-output name=status;]completed');
  });

  it("leaves ordinary text alone, the action's own line breaks and tabs included", () => {
    const text =
      '[corpsec] validate: ok — 19/20 healthy (95.0%), key_ABC on mac-01.local\n2 configuration problems:\n\tintent.yaml: name';
    expect(logText(text)).toBe(text);
    expect(logText('a :: b, x::y')).toBe('a :: b, x::y');
  });

  it('removes controls, bidi overrides and invisible characters, keeps accents and emoji', () => {
    expect(logText('Jos\u00e9\u202e\u200bs Mac\u0007 💻')).toBe('Josés Mac 💻');
    expect(logText('e\u0301')).toBe('e\u0301');
  });

  it('property: no input yields a command', () => {
    const unit = fc.constantFrom(
      ':',
      ':',
      '#',
      '#',
      '[',
      ']',
      ' ',
      '\t',
      '\n',
      '\r',
      '\u2028',
      '\u0085',
      '\u00a0',
      '\u00ad',
      '\u200b',
      '\ufeff',
      '\u202e',
      'a',
      'x',
      '-',
      '\u0000',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), fc.string({ maxLength: 20 }), (s, t) => {
        expect(workflowCommands(logText(s + t + s))).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('oneLine / visibleText', () => {
  it('visibleText keeps LF (CR and CR LF become LF), oneLine makes every break a space', () => {
    expect(visibleText('a\r\nb\rc\nd\u2028e')).toBe('a\nb\nc\nd e');
    expect(oneLine('a\r\nb\rc\nd\u2028e')).toBe('a b c d e');
  });
  it('accepts anything', () => {
    expect(oneLine(undefined)).toBe('');
    expect(oneLine(42)).toBe('42');
  });
});

/** Entities decoded and <wbr> removed: the text a reader sees. */
const rendered = (md: string): string =>
  md
    .replace(/<wbr>/g, '')
    .replace(/&(#\d+|amp|lt|gt|quot);/g, (_m, r: string) =>
      r.startsWith('#')
        ? String.fromCodePoint(Number(r.slice(1)))
        : ({ amp: '&', lt: '<', gt: '>', quot: '"' } as Record<string, string>)[r]!,
    );

/**
 * github.com links at transform time on the decoded text of each text node (mentions, issue
 * references, e-mail addresses, URLs); `<wbr>` separates text nodes.
 */
const LINKY_TEXT = [
  /(^|[^\w])@[A-Za-z0-9]/,
  /(^|[^\w&])#\d/,
  /[\w.+-]@[\w-]+\.[\w.-]/,
  /[a-z][a-z0-9+.-]*:\/\/\w/i,
  /www\.\w/i,
];
const linkyNodes = (md: string): string[] =>
  md
    .split(/<wbr>/)
    .map(rendered)
    .filter((node) => LINKY_TEXT.some((re) => re.test(node)));

/** What CommonMark/GFM could read as a link, image, HTML, code, table cell or emphasis in the source. */
const SYNTAX_IN_SOURCE = /[<>[\]`|*~\\$\n\r]|:\/\/|www\.|@/i;

describe('markdownText (summary values)', () => {
  const values = [
    '[click](https://evil.example)',
    '![x](https://evil.example/i.png)',
    '<img src=x onerror=alert(1)>',
    '<a href="https://evil.example">here</a>',
    'see https://evil.example/x and http://evil.example and HTTPS://EVIL.EXAMPLE',
    'www.evil.example and WWW.Evil.Example',
    'mail ceo@evil.example now',
    'ping @octocat and @acme/secops',
    'closes #123 and acme/repo#45',
    '`code` | cell | *bold* _em_ ~~del~~ $x^2$ \\[esc\\]',
    '&lt;already&gt; &#64;encoded',
    'line\nbreak\r\nand\u2028separator',
    '\u202eevil\u200b',
  ];

  it.each(values)('%j renders as its own text and nothing else', (v) => {
    const md = markdownText(v);
    expect(md.replace(/<wbr>/g, '')).not.toMatch(SYNTAX_IN_SOURCE);
    expect(linkyNodes(md)).toEqual([]);
    expect(rendered(md)).toBe(oneLine(v));
  });

  it('keeps ordinary values readable', () => {
    expect(markdownText('mac-00012 (ep-00012): not checked in since 2026-05-01T10:00:00Z')).toBe(
      'mac-00012 (ep-00012): not checked in since 2026-05-01T10:00:00Z',
    );
    expect(markdownText('would create a fleet key (read, execute)')).toBe('would create a fleet key (read, execute)');
    expect(markdownText('key_ABC_def and snake_case_name')).toBe('key_ABC_def and snake_case_name');
  });

  it('property: no input forms syntax, a link, or loses a visible character', () => {
    const unit = fc.constantFrom(
      ...'[]()!<>&#@:/.wW_*`|\\$~ ah1\n'.split(''),
      'http',
      'https://',
      'www.',
      '&#64;',
      '<img',
      '<wbr>',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (v) => {
        const md = markdownText(v);
        expect(md.replace(/<wbr>/g, '')).not.toMatch(SYNTAX_IN_SOURCE);
        expect(linkyNodes(md)).toEqual([]);
        expect(rendered(md)).toBe(oneLine(v));
      }),
      { numRuns: 2000 },
    );
  });
});
