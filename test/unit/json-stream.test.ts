import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter, JsonStreamError, JsonStreamLimit } from '../../src/http/json-stream.js';

/** Feeds `text` in the given chunk sizes; returns the streamed elements per array and the rest. */
function split(
  text: string,
  arrays: string[],
  sizes: number[] = [text.length || 1],
): { elements: Record<string, unknown[]>; rest: Record<string, unknown> } {
  const elements: Record<string, unknown[]> = {};
  const s = new JsonArraySplitter(arrays, (v, a) => (elements[a] ??= []).push(v));
  let at = 0;
  for (let k = 0; at < text.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    s.write(text.slice(at, at + n));
    at += n;
  }
  return { elements, rest: s.end() };
}

describe('JsonArraySplitter', () => {
  it('streams the named arrays element by element and returns the rest with them empty', () => {
    const text =
      '{"totalCount": 3, "results": [{"id":"1","general":{"name":"a,b]}"}}, 2, "x\\"]", [1,[2]], null], "other": [1, 2]}';
    const { elements, rest } = split(text, ['results'], [1]);
    expect(elements['results']).toEqual([{ id: '1', general: { name: 'a,b]}' } }, 2, 'x"]', [1, [2]], null]);
    expect(rest).toEqual({ totalCount: 3, results: [], other: [1, 2] });
  });

  it('finds a key written with escapes and leaves nested arrays of the same name alone', () => {
    const { elements, rest } = split('{"meta":{"data":[9]},"d\\u0061ta":[1,2]}', ['data'], [3, 1, 5]);
    expect(elements['data']).toEqual([1, 2]);
    expect(rest).toEqual({ meta: { data: [9] }, data: [] });
  });

  it('accepts an empty array and an object without the array', () => {
    expect(split('{"data":[ ]}', ['data'])).toEqual({ elements: {}, rest: { data: [] } });
    expect(split('{"error":"nope"}', ['data'])).toEqual({ elements: {}, rest: { error: 'nope' } });
  });

  it('finds the key however far it is from its array, and never from inside a longer string', () => {
    const spaced = `{"data"${' '.repeat(300)}:${'\n'.repeat(300)}[1,2]}`;
    expect(split(spaced, ['data'], [7])).toEqual({ elements: { data: [1, 2] }, rest: { data: [] } });
    const long = `{"${'x'.repeat(300)}\\"data":[1,2]}`;
    expect(split(long, ['data'], [5])).toEqual({ elements: {}, rest: JSON.parse(long) });
  });

  it('keeps an escape pending across an empty chunk', () => {
    const elements: unknown[] = [];
    const s = new JsonArraySplitter(['data'], (v) => elements.push(v));
    for (const c of ['{"a":"x\\', '', '"y","data":[1]}']) s.write(c);
    expect(s.end()).toEqual({ a: 'x"y', data: [] });
    expect(elements).toEqual([1]);
  });

  it('hands each element its index', () => {
    const seen: [unknown, number][] = [];
    const s = new JsonArraySplitter(['data'], (v, _a, i) => seen.push([v, i]));
    s.write('{"data":["a","b","c"]}');
    s.end();
    expect(seen).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
  });

  it.each([
    ['a duplicated streamed key', '{"data":[1],"data":[2]}'],
    ['non-JSON whitespace as an element', '{"data":[\u00a0]}'],
    ['a byte-order mark as an element', '{"data":[\ufeff]}'],
    ['a trailing comma', '{"data":[1,]}'],
    ['a leading comma', '{"data":[,1]}'],
    ['a hole', '{"data":[1,,2]}'],
    ['a bad element', '{"data":[1 2]}'],
    ['an unterminated body', '{"data":[1,2'],
    ['an unterminated string', '{"data":["abc'],
    ['a top-level array', '[1,2]'],
    ['mismatched brackets', '{"data":[1}]}'],
    ['an HTML sign-in page', '<html><body>Sign in</body></html>'],
    ['a broken skeleton', '{"data":[1] "x":2}'],
    ['an empty body', ''],
  ])('refuses %s', (_name, text) => {
    expect(() => split(text, ['data'], [2])).toThrow(JsonStreamError);
  });

  it('bounds what it keeps: one element, the number of elements, the rest of the object — across any chunking', () => {
    const limits = { maxElementChars: 20, maxElements: 3, maxRestChars: 30 };
    const run = (text: string, size: number) => () => {
      const s = new JsonArraySplitter(['data'], () => undefined, limits);
      for (let at = 0; at < text.length; at += size) s.write(text.slice(at, at + size));
      return s.end();
    };
    for (const size of [1, 7, 1000]) {
      expect(run('{"data":["0123456789abcdef"],"n":1}', size)()).toEqual({ data: [], n: 1 });
      expect(run(`{"data":["${'x'.repeat(19)}"]}`, size)).toThrow(JsonStreamLimit);
      expect(run('{"data":[1,2,3,4]}', size)).toThrow(/more than 3 elements/);
      expect(run(`{"a":"${'y'.repeat(40)}","data":[]}`, size)).toThrow(JsonStreamLimit);
      // Rows whose end is guessed are held to the same limits.
      expect(run(`{"data":[{"k":"${'z'.repeat(20)}"},{"k":1}]}`, size)).toThrow(JsonStreamLimit);
      expect(run('{"data":[{"k":1},{"k":2},{"k":3},{"k":4}]}', size)).toThrow(/more than 3 elements/);
    }
  });

  it('agrees with JSON.parse on any object, whitespace and chunking (property)', () => {
    const row = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 6 }),
        fc.dictionary(
          fc.string({ maxLength: 6 }).filter((k) => k !== 'data'),
          fc.jsonValue({ maxDepth: 2 }),
          { maxKeys: 3 },
        ),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (rows, others, sizes, pretty) => {
          const doc = { ...others, data: rows };
          const text = JSON.stringify(doc, null, pretty ? 2 : undefined);
          const { elements, rest } = split(text, ['data'], sizes);
          expect(elements['data'] ?? []).toEqual(JSON.parse(JSON.stringify(rows)));
          expect(rest).toEqual(JSON.parse(JSON.stringify({ ...others, data: [] })));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('takes a guessed end of a row only when JSON.parse agrees (property: rows nesting rows, brackets and commas in strings)', () => {
    // Rows whose first key comes back inside them (a nested array of objects starting alike):
    // the next `,{"a"` is then often not where the row ends.
    const tricky = fc.string({ unit: fc.constantFrom('}', ',', ']', '{', '"', '\\', ' ', 'a'), maxLength: 6 });
    const { row } = fc.letrec<{ row: Record<string, unknown>; value: unknown }>((tie) => ({
      row: fc
        .tuple(fc.constantFrom('a', 'b'), tie('value'), fc.dictionary(tricky, tie('value'), { maxKeys: 3 }))
        .map(([first, v, more]) => ({ [first]: v, ...more })),
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        tricky,
        fc.integer(),
        fc.constant(null),
        fc.array(tie('row'), { maxLength: 3 }),
      ),
    }));
    fc.assert(
      fc.property(
        fc.oneof(
          // A listing: flat rows starting alike, with any text in their strings (most guesses hit).
          fc.array(
            fc
              .tuple(tricky, fc.dictionary(tricky, fc.oneof(tricky, fc.integer()), { maxKeys: 3 }))
              .map(([id, more]) => ({
                id,
                ...more,
              })),
            { maxLength: 30 },
          ),
          fc.array(fc.oneof(row, fc.integer()), { maxLength: 30 }),
        ),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 400 }), fc.constant(100_000)), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(undefined, 1),
        (rows, sizes, indent) => {
          const text = JSON.stringify({ data: rows, n: 1 }, null, indent);
          const { elements, rest } = split(text, ['data'], sizes);
          expect(elements['data'] ?? []).toEqual(JSON.parse(JSON.stringify(rows)));
          expect(rest).toEqual({ data: [], n: 1 });
        },
      ),
      { numRuns: 600 },
    );
  });

  it('never takes a guessed row JSON.parse refuses, and reads every row after the guessing stops', () => {
    for (const text of [
      '{"data":[{"a":1}x,{"a":2}]}',
      '{"data":[{"a":1},{"a":2} x,{"a":3}]}',
      '{"data":[{"a":{"a":1}},{"a":2}}]}',
    ])
      for (const size of [1, 5, text.length]) expect(() => split(text, ['data'], [size])).toThrow(JsonStreamError);
    // Rows that nest rows starting alike: every guess misses, and past the misses that stop guessing
    // the rows are still read right.
    const misses = Array.from({ length: 20 }, (_, i) => ({ a: [{ a: i }, { a: i + 1 }], b: '}' }));
    const rows = [...misses, { a: 1 }, { a: 2 }, { a: 3 }];
    for (const size of [7, 100_000])
      expect(split(JSON.stringify({ data: rows }), ['data'], [size]).elements['data']).toEqual(rows);
  });

  it('never accepts what JSON.parse rejects (property: truncated and corrupted bodies)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (rows, cut, size) => {
          const full = JSON.stringify({ data: rows, n: 1 });
          const text = full.slice(0, cut % (full.length + 1));
          let parsedOk = true;
          try {
            JSON.parse(text);
          } catch {
            parsedOk = false;
          }
          if (parsedOk) return;
          expect(() => split(text, ['data'], [size])).toThrow();
        },
      ),
      { numRuns: 400 },
    );
  });
});
