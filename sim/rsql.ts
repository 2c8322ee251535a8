/**
 * A small RSQL parser/compiler for Jamf Pro API `filter` parameters: `;` = AND, `,` = OR,
 * parentheses, ==, !=, =in=, =out=, <, <=, >, >= (and =lt= =le= =gt= =ge=), quoted values,
 * `*` wildcards on string equality. Compiles to a predicate over a row accessor.
 */

export type FieldKind = 'number' | 'string' | 'date';
export type Getter = (row: number) => number | string;
export interface FieldDef {
  kind: FieldKind;
  get: Getter;
}
export type Predicate = (row: number) => boolean;

export class RsqlError extends Error {}

type Node = { and: Node[] } | { or: Node[] } | { sel: string; op: string; vals: string[] };

const OPS = ['=in=', '=out=', '=ge=', '=le=', '=gt=', '=lt=', '==', '!=', '>=', '<=', '>', '<'];
const NORMAL: Record<string, string> = { '=ge=': '>=', '=le=': '<=', '=gt=': '>', '=lt=': '<' };

function parse(src: string): Node {
  let pos = 0;
  const ws = (): void => {
    while (src[pos] === ' ') pos++;
  };
  const fail = (msg: string): never => {
    throw new RsqlError(`${msg} at position ${pos} of filter '${src}'`);
  };
  const value = (): string => {
    ws();
    const q = src[pos];
    if (q === '"' || q === "'") {
      const end = src.indexOf(q, pos + 1);
      if (end < 0) fail('unterminated quoted value');
      const v = src.slice(pos + 1, end);
      pos = end + 1;
      return v;
    }
    const start = pos;
    while (pos < src.length && !';,()'.includes(src[pos] ?? '')) pos++;
    const v = src.slice(start, pos).trim();
    if (v === '') fail('missing value');
    return v;
  };
  const term = (): Node => {
    ws();
    if (src[pos] === '(') {
      pos++;
      const n = or();
      ws();
      if (src[pos] !== ')') fail("expected ')'");
      pos++;
      return n;
    }
    const m = /^[A-Za-z][A-Za-z0-9_.]*/.exec(src.slice(pos));
    if (!m) return fail('expected a field name');
    const sel = m[0];
    pos += sel.length;
    const op = OPS.find((o) => src.startsWith(o, pos));
    if (!op) return fail(`unknown operator after '${sel}'`);
    pos += op.length;
    if (op === '=in=' || op === '=out=') {
      ws();
      if (src[pos] !== '(') fail(`'${op}' needs a parenthesised list`);
      pos++;
      const vals = [value()];
      for (ws(); src[pos] === ','; ws()) {
        pos++;
        vals.push(value());
      }
      if (src[pos] !== ')') fail("expected ')'");
      pos++;
      return { sel, op, vals };
    }
    return { sel, op: NORMAL[op] ?? op, vals: [value()] };
  };
  const and = (): Node => {
    const items = [term()];
    for (ws(); src[pos] === ';'; ws()) {
      pos++;
      items.push(term());
    }
    return items.length === 1 ? (items[0] as Node) : { and: items };
  };
  const or = (): Node => {
    const items = [and()];
    for (ws(); src[pos] === ','; ws()) {
      pos++;
      items.push(and());
    }
    return items.length === 1 ? (items[0] as Node) : { or: items };
  };
  const n = or();
  ws();
  if (pos !== src.length) fail('unexpected character');
  return n;
}

function toValue(kind: FieldKind, raw: string, sel: string): number | string {
  if (kind === 'string') return raw.toLowerCase();
  const v = kind === 'number' ? Number(raw) : Date.parse(raw);
  if (Number.isNaN(v)) throw new RsqlError(`invalid ${kind} value '${raw}' for field '${sel}'`);
  return v;
}

function compileNode(n: Node, fields: Record<string, FieldDef>): Predicate {
  if ('and' in n) {
    const ps = n.and.map((x) => compileNode(x, fields));
    return (r) => ps.every((p) => p(r));
  }
  if ('or' in n) {
    const ps = n.or.map((x) => compileNode(x, fields));
    return (r) => ps.some((p) => p(r));
  }
  const f = fields[n.sel];
  if (!f) throw new RsqlError(`field '${n.sel}' is not filterable`);
  const get = f.kind === 'string' ? (r: number) => String(f.get(r)).toLowerCase() : f.get;
  if (n.op === '=in=' || n.op === '=out=') {
    const set = new Set(n.vals.map((v) => toValue(f.kind, v, n.sel)));
    return n.op === '=in=' ? (r) => set.has(get(r)) : (r) => !set.has(get(r));
  }
  const raw = n.vals[0] ?? '';
  if (f.kind === 'string' && (n.op === '==' || n.op === '!=') && raw.includes('*')) {
    const esc = raw
      .toLowerCase()
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const re = new RegExp(`^${esc.join('.*')}$`);
    return n.op === '==' ? (r) => re.test(String(get(r))) : (r) => !re.test(String(get(r)));
  }
  const v = toValue(f.kind, raw, n.sel);
  switch (n.op) {
    case '==':
      return (r) => get(r) === v;
    case '!=':
      return (r) => get(r) !== v;
    case '>':
      return (r) => get(r) > v;
    case '>=':
      return (r) => get(r) >= v;
    case '<':
      return (r) => get(r) < v;
    case '<=':
      return (r) => get(r) <= v;
    default:
      throw new RsqlError(`unsupported operator '${n.op}'`);
  }
}

/** Compiles a filter string; throws RsqlError on bad syntax or an unknown field. */
export function compileRsql(filter: string, fields: Record<string, FieldDef>): Predicate {
  return compileNode(parse(filter), fields);
}

/** Compiles a Jamf `sort` spec (`field:asc,field:desc`) into a comparator. */
export function compileSort(specs: string[], fields: Record<string, FieldDef>): (a: number, b: number) => number {
  const keys = specs
    .flatMap((s) => s.split(','))
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const [name = '', dir = 'asc'] = s.trim().split(':');
      const f = fields[name];
      if (!f || (dir !== 'asc' && dir !== 'desc')) throw new RsqlError(`invalid sort '${s}'`);
      return { get: f.get, sign: dir === 'asc' ? 1 : -1 };
    });
  return (a, b) => {
    for (const k of keys) {
      const x = k.get(a),
        y = k.get(b);
      if (x < y) return -k.sign;
      if (x > y) return k.sign;
    }
    return 0;
  };
}
