/**
 * The Jamf Classic API XML the action reads and writes (spec mdm.md "Jamf Pro" 2–4,
 * reference mdm.md §2.2, §3.1, §5.2). `general.payloads` carries the whole mobileconfig as
 * entity-escaped text, and the rollback snapshot is that text: it must come out of the
 * parser byte for byte, so entity handling here is explicit and minimal — the five
 * predefined entities and numeric references are decoded, DOCTYPE entities never are.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ResponseShapeError } from '../errors.js';
import { declaresEntities } from '../xml-entities.js';

/** A macOS configuration profile as `GET /JSSResource/osxconfigurationprofiles/id/{id}` returns it. */
export interface JamfProfile {
  id: number;
  name: string;
  /** `general.uuid`: equals the plist's top-level PayloadUUID. */
  uuid?: string;
  /** The mobileconfig plist, unescaped. */
  payloads: string;
  redeployOnUpdate?: string;
}

/** Profile documents: a mobileconfig (≤ 1 MiB) escaped, plus the scope and self-service parts. */
export const MAX_PROFILE_XML_BYTES = 8 * 1024 * 1024;
/** Group documents list every member (~250 bytes each): room for well over 100,000 computers. */
export const MAX_GROUP_XML_BYTES = 64 * 1024 * 1024;
/** Same bound as the mobileconfig reader. */
export const MAX_PAYLOADS_CHARS = 1024 * 1024;
const MAX_ERROR_HTML = 64 * 1024;
const MAX_ERROR_TEXT = 500;

const PROFILE_CALL = 'GET /JSSResource/osxconfigurationprofiles/id/{id}';
const GROUP_CALL = 'GET /JSSResource/computergroups/id/{id}';

type XNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true, // keeps text and CDATA segments in document order
  processEntities: false, // decoded below; DOCTYPE entities must never expand
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false, // payloads must round-trip exactly, whitespace included
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
});

/** XML 1.0 Char production: anything else cannot appear in a document, even as a reference. */
const isXmlChar = (cp: number): boolean =>
  cp === 0x9 ||
  cp === 0xa ||
  cp === 0xd ||
  (cp >= 0x20 && cp <= 0xd7ff) ||
  (cp >= 0xe000 && cp <= 0xfffd) ||
  (cp >= 0x10000 && cp <= 0x10ffff);

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Line-end normalisation (XML 1.0 §2.11) then the five entities and numeric references. */
function decodeText(raw: string, call: string): string {
  return raw
    .replace(/\r\n?/g, '\n')
    .replace(
      /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]*)?(;)?/g,
      (m, ref: string | undefined, semi: string | undefined) => {
        if (ref === undefined || semi === undefined) throw new ResponseShapeError('jamf', call, 'bare "&" in XML text');
        if (ref.startsWith('#')) {
          const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
          if (!isXmlChar(cp))
            throw new ResponseShapeError('jamf', call, `character reference ${m} is not an XML character`);
          return String.fromCodePoint(cp);
        }
        const ch = PREDEFINED[ref];
        if (ch === undefined) throw new ResponseShapeError('jamf', call, `undeclared entity &${ref.slice(0, 20)};`);
        return ch;
      },
    );
}

function parseDoc(xml: string, max: number, call: string): XNode[] {
  if (typeof xml !== 'string' || xml.trim() === '') throw new ResponseShapeError('jamf', call, 'empty body');
  if (xml.length > max) throw new ResponseShapeError('jamf', call, `XML larger than ${max} bytes`);
  if (declaresEntities(xml)) {
    throw new ResponseShapeError('jamf', call, 'XML declares entities (DOCTYPE internal subset); refusing to parse it');
  }
  const v = XMLValidator.validate(xml);
  if (v !== true)
    throw new ResponseShapeError(
      'jamf',
      call,
      `not well-formed XML (${v.err.code} at line ${v.err.line}, column ${v.err.col})`,
    );
  try {
    return parser.parse(xml) as XNode[];
  } catch {
    // The parser's own message may quote the document (which can hold key material): never pass it on.
    throw new ResponseShapeError('jamf', call, 'XML could not be parsed');
  }
}

/** The element's own name in fast-xml-parser's ordered form (`:@` holds attributes). */
const tagOf = (n: XNode): string | undefined => Object.keys(n).find((k) => k !== ':@');

function children(n: XNode): XNode[] {
  const tag = tagOf(n);
  const c = tag === undefined ? undefined : n[tag];
  return Array.isArray(c) ? (c as XNode[]) : [];
}

function elements(nodes: XNode[], name: string): XNode[] {
  return nodes.filter((n) => tagOf(n) === name);
}

function first(nodes: XNode[], name: string): XNode | undefined {
  return nodes.find((n) => tagOf(n) === name);
}

/** Text content: text segments decoded, CDATA verbatim (both line-end normalised), in order. */
function textOf(n: XNode | undefined, call: string): string | undefined {
  if (n === undefined) return undefined;
  let out = '';
  for (const c of children(n)) {
    const tag = tagOf(c);
    if (tag === '#text') out += decodeText(String(c['#text']), call);
    else if (tag === '#cdata') {
      for (const t of (c['#cdata'] as XNode[] | undefined) ?? [])
        out += String(t['#text'] ?? '').replace(/\r\n?/g, '\n');
    } else if (tag !== '#comment') throw new ResponseShapeError('jamf', call, `<${tag}> found where text was expected`);
  }
  return out;
}

function intOf(n: XNode | undefined, field: string, call: string): number {
  const t = textOf(n, call)?.trim();
  if (t === undefined || !/^\d{1,15}$/.test(t))
    throw new ResponseShapeError('jamf', call, `${field} is not a non-negative integer`);
  return Number(t);
}

function root(xml: string, name: string, max: number, call: string): XNode[] {
  const doc = parseDoc(xml, max, call);
  const r = first(doc, name);
  if (!r) throw new ResponseShapeError('jamf', call, `root element is not <${name}>`);
  return children(r);
}

/** Reads the profile from `GET /JSSResource/osxconfigurationprofiles/id/{id}` (or its `subset/General`). */
export function parseJamfProfile(xml: string): JamfProfile {
  const general = first(root(xml, 'os_x_configuration_profile', MAX_PROFILE_XML_BYTES, PROFILE_CALL), 'general');
  if (!general) throw new ResponseShapeError('jamf', PROFILE_CALL, 'no <general> element');
  const g = children(general);
  const payloads = textOf(first(g, 'payloads'), PROFILE_CALL);
  if (payloads === undefined || payloads.trim() === '') {
    throw new ResponseShapeError(
      'jamf',
      PROFILE_CALL,
      'general.payloads is missing or empty (the profile has no payload to update)',
    );
  }
  if (payloads.length > MAX_PAYLOADS_CHARS) {
    throw new ResponseShapeError(
      'jamf',
      PROFILE_CALL,
      `general.payloads is larger than ${MAX_PAYLOADS_CHARS} characters`,
    );
  }
  const uuid = textOf(first(g, 'uuid'), PROFILE_CALL)?.trim();
  const redeploy = textOf(first(g, 'redeploy_on_update'), PROFILE_CALL)?.trim();
  return {
    id: intOf(first(g, 'id'), 'general.id', PROFILE_CALL),
    name: textOf(first(g, 'name'), PROFILE_CALL) ?? '',
    ...(uuid ? { uuid } : {}),
    payloads,
    ...(redeploy ? { redeployOnUpdate: redeploy } : {}),
  };
}

/**
 * Escapes text for an XML element: `&`, `<`, `>` (so `]]>` cannot occur), both quotes, and
 * CR as `&#13;` (a literal CR would be turned into LF by Jamf's parser). Characters XML
 * cannot carry at all are refused rather than dropped.
 */
export function escapeXmlText(text: string): string {
  for (const ch of text) {
    if (!isXmlChar(ch.codePointAt(0)!)) {
      throw new RangeError(
        `text contains U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, which XML cannot carry`,
      );
    }
  }
  return text.replace(/[&<>"'\r]/g, (c) =>
    c === '&'
      ? '&amp;'
      : c === '<'
        ? '&lt;'
        : c === '>'
          ? '&gt;'
          : c === '"'
            ? '&quot;'
            : c === "'"
              ? '&apos;'
              : '&#13;',
  );
}

/**
 * The body of `PUT /JSSResource/osxconfigurationprofiles/id/{id}`: only the payloads, with
 * `redeploy_on_update=All` so every scoped Mac receives the new profile (not only newly
 * scoped ones). Name, scope and the rest are left out so they cannot be overwritten.
 */
export function buildJamfProfileUpdate(payloads: string): string {
  if (payloads.length > MAX_PAYLOADS_CHARS)
    throw new RangeError(`payloads larger than ${MAX_PAYLOADS_CHARS} characters`);
  return (
    '<os_x_configuration_profile><general><payloads>' +
    escapeXmlText(payloads) +
    '</payloads><redeploy_on_update>All</redeploy_on_update></general></os_x_configuration_profile>'
  );
}

const NAMED: Record<string, string> = { ...PREDEFINED, nbsp: ' ', '#39': "'" };

/**
 * Each tag replaced by a space, in one pass: a tag runs from '<' to the next '>'; a '<'
 * with no '>' after it (nor any later one) is text. `/<[^>]*>/g` does the same but rescans
 * to the end from every such '<': quadratic on a body of '<'.
 */
function withoutTags(html: string): string {
  let out = '';
  let at = 0;
  for (let lt = html.indexOf('<'); lt >= 0; lt = html.indexOf('<', at)) {
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break;
    out += `${html.slice(at, lt)} `;
    at = gt + 1;
  }
  return out + html.slice(at);
}

/**
 * The content of each `<name …>…</name>` element of an HTML page, in order, in one pass:
 * what `/<name\b[^>]*>([\s\S]*?)<\/name\s*>/gi` matches, without its quadratic rescans of an
 * unclosed tag or element. An opening tag with no '>' or an element with no end tag after it
 * ends the search: no later element could be complete either.
 */
function* elementContents(html: string, name: 'p' | 'title'): Generator<string> {
  const open = new RegExp(`<${name}\\b`, 'gi');
  const close = new RegExp(`</${name}\\s*>`, 'gi');
  while (open.exec(html)) {
    const gt = html.indexOf('>', open.lastIndex);
    if (gt < 0) return;
    close.lastIndex = gt + 1;
    const end = close.exec(html);
    if (!end) return;
    yield html.slice(gt + 1, end.index);
    open.lastIndex = close.lastIndex;
  }
}

/** Tag-free, single-line, bounded text of an HTML fragment (lenient: this is HTML, not XML). */
function htmlText(fragment: string): string {
  const text = withoutTags(fragment)
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);/gi, (m, ref: string) => {
      const r = ref.toLowerCase();
      if (r.startsWith('#')) {
        const cp = r[1] === 'x' ? parseInt(r.slice(2), 16) : parseInt(r.slice(1), 10);
        return isXmlChar(cp) && cp >= 0x20 ? String.fromCodePoint(cp) : ' ';
      }
      return NAMED[r] ?? m;
    })
    .replace(/[\u0000-\u001f\u007f\s]+/g, ' ')
    .trim();
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT - 1)}…` : text;
}

/**
 * The message of a Classic API HTML status page: the `<p>Error: …</p>` paragraph(s), else
 * the `<title>`, else ''. Bounded, tags stripped. The result is server text: callers still
 * pass it through the secret scrubber before logging it.
 */
export function parseClassicErrorPage(html: string): string {
  if (typeof html !== 'string' || html === '') return '';
  const page = html.slice(0, MAX_ERROR_HTML);
  const errors: string[] = [];
  for (const paragraph of elementContents(page, 'p')) {
    const t = htmlText(paragraph);
    if (/^error\b/i.test(t) && !errors.includes(t)) errors.push(t);
    if (errors.length === 3) break;
  }
  if (errors.length > 0) return htmlText(errors.join('; '));
  const title = elementContents(page, 'title').next();
  return title.done ? '' : htmlText(title.value);
}

/** A computer group from `GET /JSSResource/computergroups/id/{id}` (the only source of static membership). */
export function parseComputerGroup(xml: string): { id: number; name: string; isSmart: boolean; computerIds: number[] } {
  const g = root(xml, 'computer_group', MAX_GROUP_XML_BYTES, GROUP_CALL);
  const smart = textOf(first(g, 'is_smart'), GROUP_CALL)?.trim().toLowerCase();
  if (smart !== undefined && smart !== 'true' && smart !== 'false') {
    throw new ResponseShapeError('jamf', GROUP_CALL, 'is_smart is neither true nor false');
  }
  const computers = first(g, 'computers');
  const ids = new Set<number>();
  for (const c of computers ? elements(children(computers), 'computer') : []) {
    ids.add(intOf(first(children(c), 'id'), 'computers.computer.id', GROUP_CALL));
  }
  return {
    id: intOf(first(g, 'id'), 'id', GROUP_CALL),
    name: textOf(first(g, 'name'), GROUP_CALL) ?? '',
    isSmart: smart === 'true',
    computerIds: [...ids],
  };
}
