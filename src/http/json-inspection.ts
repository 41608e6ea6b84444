import { isUtf8 } from 'node:buffer';
import type { FieldProblem } from '../shared/errors.ts';
import { formatKeyPath } from '../shared/key-path.ts';

/** Deeper than this, a JSON body is refused before it is parsed. No Custos route needs more than a few levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * More objects and arrays than this, and a body is refused before it is
 * parsed: parsing and copying a tree costs by its nodes, not its bytes (8 MB
 * of nested empty arrays took seconds). A campaign of 100,000 refs is one
 * object and one array; a body of a hundred thousand objects is a bulk
 * import, which goes to /v1/imports as NDJSON.
 */
export const MAX_JSON_CONTAINERS = 10_000;

// JSON.parse keeps "__proto__" as an own key; code that later copies keys onto an object would then
// change its prototype. Such keys are refused at the edge, for every route.
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

interface Container {
  object: boolean;
  keys: Set<string> | undefined;
  key: string | undefined;
  index: number;
  expectKey: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The next position of `byte` from `from`, or past the end when there is none (so it is searched for once). */
function indexOrEnd(buf: Buffer, byte: number, from: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 ? Number.MAX_SAFE_INTEGER : at;
}

function hex4(buf: Buffer, at: number): number {
  const text = buf.toString('latin1', at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(text) ? parseInt(text, 16) : -1;
}

/**
 * Checks a JSON body's raw bytes in one linear pass, before JSON.parse sees
 * them, without recursion: valid UTF-8, nesting no deeper than
 * MAX_JSON_DEPTH and no more than MAX_JSON_CONTAINERS objects and arrays, no key twice in one object (a proxy and Custos must not
 * read two different values), no reserved key, and no string holding a NUL
 * or half a surrogate pair (which PostgreSQL cannot store and which would
 * otherwise turn distinct identifiers into the same one). Answers the first
 * problem, naming its key path, or undefined. Malformed JSON is left to the
 * parser to report.
 */
export function inspectJson(buf: Buffer): FieldProblem | undefined {
  if (!isUtf8(buf)) return { path: '', message: 'is not valid UTF-8' };
  const stack: Container[] = [];
  const segments = (containers: Container[]): Array<string | number> => containers.flatMap((c): Array<string | number> => (c.object ? (c.key === undefined ? [] : [c.key]) : [c.index]));
  const pathHere = (): string => formatKeyPath(segments(stack));
  // A key of the innermost object: the path of that object, then the key.
  const pathOfKey = (key: string): string => formatKeyPath([...segments(stack.slice(0, -1)), key]);
  const n = buf.length;
  let containers = 0;
  let nextBackslash = -1;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      let j = start;
      // Strings are most of a body: jump to the closing quote natively unless a backslash comes first.
      if (nextBackslash < start) nextBackslash = indexOrEnd(buf, BACKSLASH, start);
      const quote = buf.indexOf(QUOTE, start);
      if (quote === -1) return undefined; // unterminated: JSON.parse reports it
      if (nextBackslash > quote) {
        j = quote;
      } else {
        for (; j < n; j++) {
          const d = buf[j]!;
          if (d === QUOTE) break;
          if (d !== BACKSLASH) continue;
          escaped = true;
          j += 1;
          if (buf[j] !== 0x75) continue; // \u
          const unit = hex4(buf, j + 1);
          if (unit === 0) return { path: pathHere(), message: 'holds a NUL character, which no text field accepts' };
          if (unit >= 0xdc00 && unit <= 0xdfff) return { path: pathHere(), message: 'holds half of a UTF-16 surrogate pair; send whole characters' };
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low = buf[j + 5] === BACKSLASH && buf[j + 6] === 0x75 ? hex4(buf, j + 7) : -1;
            if (low < 0xdc00 || low > 0xdfff) return { path: pathHere(), message: 'holds half of a UTF-16 surrogate pair; send whole characters' };
            j += 6;
          }
          j += 4;
        }
        nextBackslash = indexOrEnd(buf, BACKSLASH, j + 1);
      }
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(buf.toString('utf8', start - 1, j + 1)) as string) : buf.toString('utf8', start, j);
        } catch {
          return undefined; // malformed: JSON.parse reports it
        }
        if (RESERVED_KEYS.has(key)) return { path: pathOfKey(key), message: 'is a reserved name and cannot be used as a key' };
        top.keys ??= new Set();
        if (top.keys.has(key)) return { path: pathOfKey(key), message: 'appears twice in the same object; send each key once' };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (stack.length >= MAX_JSON_DEPTH) return { path: pathHere(), message: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
      if (++containers > MAX_JSON_CONTAINERS) return { path: pathHere(), message: `holds more than ${MAX_JSON_CONTAINERS} objects and arrays in all` };
      stack.push({ object: c === 0x7b, keys: undefined, key: undefined, index: 0, expectKey: c === 0x7b });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.object) top.expectKey = true;
      else if (top) top.index += 1;
    }
  }
  return undefined;
}
