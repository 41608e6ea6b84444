import { ValidationError } from './errors.ts';

/**
 * A page position in a list ordered by a time and then an id (keyset
 * pagination): the last row of the page, opaque to clients as base64url.
 */
export function encodeKeysetCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

/** The position a cursor names; a 400 naming `cursor` for anything this API did not return. */
export function decodeKeysetCursor(cursor: string, idPattern: RegExp): { at: Date; id: string } {
  const [text, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const at = new Date(text ?? '');
  if (!id || !idPattern.test(id) || Number.isNaN(at.getTime())) throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
  return { at, id };
}
