/**
 * Reads a large JSON object body as it arrives, handing each element of the named top-level
 * arrays (`{"data": [ … ]}`, `{"results": [ … ]}`, `{"value": [ … ]}`) to a callback, so a
 * 50,000-row listing never exists as one 12 MB string or one tree of 50,000 objects: each
 * row is parsed, reduced by the caller to the few fields it uses, and dropped while still
 * young (the garbage collector frees it cheaply instead of promoting it).
 *
 * Only the element boundaries are found here (strings, escapes, nesting depth and the keys of
 * the top-level object); every element, and the rest of the object, is parsed by the native
 * JSON.parse. The streaming JSON parsers on npm tokenise every character in JavaScript: on the
 * 50,000-endpoint listing (12.9 MB) the fastest we measured took 378 ms where this split +
 * JSON.parse takes ~90 ms.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
/** JSON's whitespace (String.prototype.trim knows more, which JSON.parse refuses). */
const BLANK = /^[ \t\n\r]*$/;
/** Wrong guesses of an element's end (see #guess) before the splitter stops guessing. */
const MAX_MISSES = 8;
/** A first key longer than this is not guessed from (it would be searched for in every element). */
const MAX_FIRST_KEY_CHARS = 64;
/** Top-level strings longer than this are values, never a key we stream: they are not kept. */
const MAX_KEY_CHARS = 1024;

/** The array `key` of a streamed object was there and streamed (it is left empty in the rest). */
export function wasStreamed(rest: Record<string, unknown>, key: string): boolean {
  const v = rest[key];
  return Array.isArray(v) && v.length === 0;
}

/** The body is not the JSON object expected (the message never quotes the body). */
export class JsonStreamError extends Error {}

/** The body is JSON, but larger than a listing is allowed to be kept (see {@link StreamLimits}). */
export class JsonStreamLimit extends JsonStreamError {}

/**
 * What a streamed body may make the reader keep. A listing is never held whole, so its total
 * size is not what bounds memory: one element's text (held until its closing comma), the
 * number of elements (each becomes one item the caller keeps) and the rest of the object are.
 */
export interface StreamLimits {
  /** Characters of one element's text. */
  readonly maxElementChars: number;
  /** Elements, over every streamed array of the body. */
  readonly maxElements: number;
  /** Characters of the object without its streamed arrays' contents. */
  readonly maxRestChars: number;
}

/**
 * A Jamf computer with many extension attributes is ~20 KB and a control-plane endpoint row
 * ~730 bytes, so 1 MiB is far above any real element; 1,000,000 elements is ten times the
 * largest fleet the benchmark runs (100,000 endpoints).
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxElementChars: 1024 * 1024,
  maxElements: 1_000_000,
  maxRestChars: 1024 * 1024,
};

export class JsonArraySplitter {
  readonly #arrays: ReadonlySet<string>;
  readonly #onElement: (value: unknown, array: string, index: number) => void;
  #depth = 0;
  #inString = false;
  /** The previous chunk ended inside a string, just after a backslash. */
  #escape = false;
  #rootIsObject: boolean | undefined;
  /** The object without the streamed arrays' contents: `{"totalCount":3,"results":[]}`. */
  #skeleton = '';
  /**
   * The raw text (quotes included) of the last string closed in the top-level object: when an
   * array opens there, that string is its key. `undefined` while too long to be one of ours.
   */
  #lastString: string | undefined;
  /** The top-level string still open at the end of the previous chunk, so far. */
  #openString: string | undefined;
  /** The array being streamed (its key), while inside it. */
  #streaming: string | undefined;
  readonly #streamed = new Set<string>();
  /** Text of the current element carried over from earlier chunks. */
  #carry = '';
  #elementsInArray = 0;
  #elements = 0;
  #sawComma = false;
  /** The element about to close, parsed already by {@link #guess} (an object, so never undefined). */
  #guessed: object | undefined;
  /** The last guessed element's opening up to its first key (`{"id"`), and `,` before it. */
  #firstKey = '\0';
  #nextElement: string | undefined;
  /** A guess found no next element in the chunk being written (see #guess). */
  #endNotInChunk = false;
  /** Guesses JSON.parse refused in this body. */
  #misses = 0;
  readonly #limits: StreamLimits;

  constructor(
    arrays: readonly string[],
    onElement: (value: unknown, array: string, index: number) => void,
    limits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {
    this.#arrays = new Set(arrays);
    this.#onElement = onElement;
    this.#limits = limits;
  }

  write(chunk: string): void {
    if (chunk === '') return;
    this.#endNotInChunk = false;
    let segmentStart = 0; // start of skeleton text, or of the current element while streaming
    let i = 0;
    if (this.#inString) {
      const end = this.#stringEnd(chunk, 0);
      i = end < 0 ? chunk.length : end + 1;
      if (this.#openString !== undefined) this.#topLevelString(this.#openString + chunk.slice(0, i), end < 0);
    }
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === QUOTE) {
        // Jump over the string: most of a listing's characters are inside strings.
        const start = i;
        i = this.#stringEnd(chunk, i + 1);
        if (this.#depth === 1) this.#topLevelString(chunk.slice(start, i < 0 ? chunk.length : i + 1), i < 0);
        if (i < 0) break;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (this.#depth === 0) this.#rootIsObject = c === OPEN_OBJECT;
        this.#depth++;
        if (this.#depth === 2 && c === OPEN_ARRAY && this.#rootIsObject && this.#streaming === undefined) {
          // In a well-formed object the last top-level string before a value is its key (a
          // malformed one fails in end(), and its elements are discarded with the call).
          const key = this.#key();
          if (key !== undefined && this.#arrays.has(key)) {
            if (this.#streamed.has(key)) throw new JsonStreamError(`"${key}" appears twice`);
            this.#keep(chunk.slice(segmentStart, i + 1));
            this.#streaming = key;
            this.#streamed.add(key);
            this.#elementsInArray = 0;
            this.#sawComma = false;
            segmentStart = i + 1;
            i = this.#guess(chunk, i);
          }
        }
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (this.#depth === 2 && this.#streaming !== undefined) {
          if (c !== CLOSE_ARRAY) throw new JsonStreamError('mismatched brackets');
          this.#element(chunk.slice(segmentStart, i), true);
          this.#streaming = undefined;
          segmentStart = i;
        }
        this.#depth--;
        if (this.#depth < 0) throw new JsonStreamError('mismatched brackets');
      } else if (c === COMMA && this.#depth === 2 && this.#streaming !== undefined) {
        this.#element(chunk.slice(segmentStart, i), false);
        segmentStart = i + 1;
        i = this.#guess(chunk, i);
      }
    }
    if (this.#streaming !== undefined) {
      this.#carry += chunk.slice(segmentStart);
      if (this.#carry.length > this.#limits.maxElementChars) throw this.#tooLarge();
    } else {
      this.#keep(chunk.slice(segmentStart));
    }
  }

  /** Text of the object outside the streamed arrays, kept for `end`. */
  #keep(text: string): void {
    this.#skeleton += text;
    if (this.#skeleton.length > this.#limits.maxRestChars)
      throw new JsonStreamLimit(
        `the object outside its streamed arrays is larger than ${this.#limits.maxRestChars} characters`,
      );
  }

  #tooLarge(): JsonStreamLimit {
    return new JsonStreamLimit(
      `element ${this.#elementsInArray} of ${this.#streaming ?? 'the listing'} is larger than ${this.#limits.maxElementChars} characters`,
    );
  }

  /** The object with every streamed array left empty. */
  end(): Record<string, unknown> {
    if (this.#depth !== 0 || this.#inString || this.#streaming !== undefined || this.#rootIsObject !== true)
      throw new JsonStreamError('not a complete JSON object');
    let rest: unknown;
    try {
      rest = JSON.parse(this.#skeleton);
    } catch {
      throw new JsonStreamError('not valid JSON');
    }
    return rest as Record<string, unknown>;
  }

  /**
   * The index of the quote closing the string that is open at `from`, or -1 when the string
   * goes on past this chunk (then whether the chunk ended inside an escape is kept).
   */
  #stringEnd(chunk: string, from: number): number {
    this.#inString = true;
    if (this.#escape) {
      if (from >= chunk.length) return -1;
      this.#escape = false;
      from++;
    }
    for (;;) {
      const q = chunk.indexOf('"', from);
      const stop = q < 0 ? chunk.length : q;
      let slashes = 0;
      while (stop - slashes - 1 >= from && chunk.charCodeAt(stop - slashes - 1) === BACKSLASH) slashes++;
      if (q < 0) {
        this.#escape = slashes % 2 === 1;
        return -1;
      }
      if (slashes % 2 === 0) {
        this.#inString = false;
        return q;
      }
      from = q + 1;
    }
  }

  /** Keeps the text of a top-level string (a key candidate), across chunks while it is open. */
  #topLevelString(text: string, open: boolean): void {
    const fits = text.length <= MAX_KEY_CHARS;
    if (open) {
      this.#openString = fits ? text : undefined;
      this.#lastString = undefined;
    } else {
      this.#openString = undefined;
      this.#lastString = fits ? text : undefined;
    }
  }

  #key(): string | undefined {
    if (this.#lastString === undefined) return undefined;
    try {
      return JSON.parse(this.#lastString) as string;
    } catch {
      return undefined;
    }
  }

  /**
   * The elements of a listing are objects that start alike (`{"endpoint_id":…`, `{"id":…`),
   * so the next `,{"endpoint_id"` is usually where this element ends: JSON.parse of the text
   * up to there is tried first, and the scan of its characters skipped. Only a span JSON.parse
   * accepts is taken: an object that parses ends at its own closing brace, and a comma follows
   * it, so it is the element the scan would have found. A miss (that text inside a string or a
   * nested object) is scanned as before, and after a few guessing stops for the body. Each
   * search that reaches the chunk's end stops guessing for the rest of that chunk, so no chunk
   * is searched through more than once in vain. The last element of a chunk, and
   * pretty-printed bodies, are scanned.
   * Returns where the scan goes on: `delimiter` itself, or just before the guessed end's comma.
   */
  #guess(chunk: string, delimiter: number): number {
    const start = delimiter + 1;
    if (
      this.#endNotInChunk ||
      this.#misses >= MAX_MISSES ||
      chunk.charCodeAt(start) !== OPEN_OBJECT ||
      chunk.charCodeAt(start + 1) !== QUOTE
    )
      return delimiter;
    if (!chunk.startsWith(this.#firstKey, start)) {
      const keyEnd = chunk.indexOf('"', start + 2);
      if (keyEnd < 0 || keyEnd - start > MAX_FIRST_KEY_CHARS) return delimiter;
      this.#firstKey = chunk.slice(start, keyEnd + 1);
      // A key with an escape is not guessed from (the quote found may be an escaped one); it is
      // remembered, so the next element that starts alike is not looked at again.
      this.#nextElement = this.#firstKey.includes('\\') ? undefined : `,${this.#firstKey}`;
    }
    if (this.#nextElement === undefined) return delimiter;
    const end = chunk.indexOf(this.#nextElement, start + this.#firstKey.length);
    if (end < 0) {
      // Searched to the chunk's end: another search would too, so the rest of it is scanned.
      this.#endNotInChunk = true;
      return delimiter;
    }
    // Past the element limit: the scan refuses it, without parsing it first.
    if (end - start > this.#limits.maxElementChars) return delimiter;
    try {
      this.#guessed = JSON.parse(chunk.slice(start, end)) as object;
    } catch {
      this.#misses++;
      return delimiter;
    }
    return end - 1;
  }

  #element(tail: string, closing: boolean): void {
    const text = this.#carry + tail;
    this.#carry = '';
    if (text.length > this.#limits.maxElementChars) throw this.#tooLarge();
    if (BLANK.test(text)) {
      // `[]` is fine; `[1,]`, `[,1]` and `[1,,2]` are not JSON.
      if (!closing || this.#sawComma) throw new JsonStreamError('empty array element');
      return;
    }
    if (!closing) this.#sawComma = true;
    if (++this.#elements > this.#limits.maxElements)
      throw new JsonStreamLimit(`more than ${this.#limits.maxElements} elements`);
    let value: unknown = this.#guessed;
    this.#guessed = undefined;
    if (value === undefined) {
      try {
        value = JSON.parse(text);
      } catch {
        throw new JsonStreamError(`element ${this.#elementsInArray} of ${this.#streaming} is not valid JSON`);
      }
    }
    this.#onElement(value, this.#streaming!, this.#elementsInArray++);
  }
}
