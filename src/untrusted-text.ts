/**
 * The one neutraliser for text the action does not control (device and host names, key
 * names, server messages, intent free text) on its way to the log or the job summary
 * (spec action.md §9 "Untrusted text"). The log module (src/log.ts) applies `logText` to
 * every message at the sink and the summary applies `markdownText` to every value, so call
 * sites never have to remember.
 *
 * How the GitHub runner reads a step's output (actions/runner):
 * - Runner.Sdk/ProcessInvoker.cs reads stdout with StreamReader.ReadLine, which ends a line
 *   at "\n", "\r" or "\r\n": a CR alone starts a new line.
 * - Runner.Common/ActionCommand.cs TryParseV2 trims leading whitespace (String.TrimStart:
 *   every Char.IsWhiteSpace) and takes the line as a command when it then starts with "::".
 *   TryParse (the legacy form) takes it as a command when "##[" occurs ANYWHERE in it.
 *   Both use culture-sensitive StartsWith / IndexOf, which skip "ignorable" code points (a
 *   soft hyphen, zero-width characters, controls): "\u00AD::x" or "#\u200B#[" can still
 *   match, so those code points are removed BEFORE the two checks.
 * - Runner.Worker/ActionCommandManager.cs tries TryParseV2 then TryParse on every line; the
 *   commands include stop-commands (turns all command processing, masking included, off
 *   until a token), add-mask, set-output, save-state, error/warning/notice, group, debug.
 */

/**
 * Removed everywhere: C0 and C1 controls and DEL (\p{Cc}) except TAB and LF, format
 * characters (\p{Cf}: bidi embeddings/overrides/isolates, LRM/RLM, zero-width joiners and
 * spaces, soft hyphen, BOM, tag characters), lone surrogates (\p{Cs}), and every other
 * Default_Ignorable_Code_Point (variation selectors, Hangul fillers, U+034F...). None of
 * them is needed to read a name, and each can hide text, reorder it on screen (Trojan
 * Source), or be skipped by the runner's culture-sensitive match as described above.
 */
const INVISIBLE = /(?![\t\n])[\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}]/gu;
/**
 * Line and paragraph separators, NEL, VT and FF: the runner does not end a line there, but
 * viewers may. Each becomes a space, so the text keeps the lines the runner sees.
 */
const ODD_BREAKS = /[\u2028\u2029\u0085\u000b\u000c]/g;

/** CR LF and a lone CR end a line for the runner (StreamReader.ReadLine): make them LF. */
const normaliseBreaks = (s: string): string => s.replace(/\r\n?/g, '\n');

/** Visible text without controls or invisible code points; LF (line structure) and TAB kept. */
export function visibleText(text: unknown): string {
  return normaliseBreaks(String(text ?? ''))
    .replace(ODD_BREAKS, ' ')
    .replace(INVISIBLE, '');
}

/** Like `visibleText` but on one line: every line break becomes a space. */
export function oneLine(text: unknown): string {
  return visibleText(text).replace(/\n/g, ' ');
}

/**
 * Text for the log: `visibleText`, then no line may start a workflow command and "##["
 * never appears. A line whose first non-blank characters are "::" gets a space between the
 * colons (": :stop-commands::x" is shown, not obeyed); "##[" becomes "## [". Both are plain
 * ASCII so no look-alike can be folded back by a culture-sensitive comparison.
 */
export function logText(text: unknown): string {
  return visibleText(text)
    .replace(/##\[/g, '## [')
    .replace(/^([^\S\n]*):(?=:)/gm, '$1: ');
}

/**
 * One value for the Markdown of the job summary: one line, HTML-escaped, and unable to form
 * HTML, a link, an image or other Markdown structure.
 * - HTML: & < > " ' are entities, so no tag (`<img>`, `<a>`) and no entity of the data's own.
 * - Markdown: [ ] ` | \ * ~ $ are numeric character references, which are literal text in
 *   link, image, code, table, emphasis and math syntax (CommonMark 0.31 §2.5 "Entity and
 *   numeric character references"). Without a literal "[" or "]" no link or image can form,
 *   so "(", ")" and "!" stay readable, and so does "_" (key ids are full of it; inside a
 *   word it cannot emphasise, elsewhere it can only italicise the value's own text).
 * - GFM autolink literals are recognised at parse time from `http://`, `https://`, `www.`
 *   and `x@y.z` (GFM spec 6.9 "Autolinks (extension)"): the ':' of "://", the '.' of "www."
 *   and every '@' are references, so none of them is in the source.
 * - github.com also links at transform time, on the decoded text of each text node:
 *   @mentions, #123 issue references, e-mail addresses (and, in some views, URLs). A <wbr>
 *   (an empty element the sanitizer keeps; invisible; adds no character when copied) after
 *   each '@', '#', "://" colon and "www." splits such text into separate text nodes, so no
 *   node holds a whole mention, reference, address or URL.
 */
export function markdownText(v: unknown): string {
  return oneLine(v)
    .replace(MARKDOWN_SYNTAX, (c) => ENTITY[c] ?? `&#${c.codePointAt(0)};${c === '@' || c === '#' ? '<wbr>' : ''}`)
    .replace(/:\/\//g, '&#58;<wbr>//')
    .replace(/(w{3})\./gi, '$1&#46;<wbr>');
}

const MARKDOWN_SYNTAX = /[&<>"'`|\\[\]*~$#@]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
