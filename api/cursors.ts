// Keyset cursors of listings ordered by (a timestamp, id), mostly created_at
// newest first: opaque to clients, checked when they come back. The timestamp
// travels as PostgreSQL wrote it, to the microsecond: a JavaScript Date keeps
// only milliseconds, and rows of one transaction share their created_at, so a
// rounded cursor would skip rows.
import type { Position } from '../db/keyset';
import { ValidationError } from './errors';

export interface Keyset {
  /** ISO-8601 UTC with microseconds, as the database gave it (`2026-12-02T12:52:44.123456Z`). */
  createdAt: string;
  id: string;
}

const TIMESTAMP = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The date and time exist (JavaScript rolls 2026-02-30 over to 2 March,
 * PostgreSQL refuses it): read back, the same text down to the millisecond.
 */
function isRealTime(text: string): boolean {
  const ms = Date.parse(text);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 23) === text.slice(0, 23);
}

export function encodeKeyset(keyset: Keyset): string {
  return Buffer.from(`${keyset.createdAt}|${keyset.id}`).toString('base64url');
}

export function decodeKeyset(cursor: string): Keyset {
  const [createdAt, id, extra] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (
    extra !== undefined ||
    createdAt === undefined ||
    !TIMESTAMP.test(createdAt) ||
    !isRealTime(createdAt) ||
    id === undefined ||
    !UUID.test(id)
  ) {
    throw new ValidationError('invalid query', [
      { path: 'query.cursor', message: 'not a cursor this API issued' },
    ]);
  }
  return { createdAt, id };
}

/** A page as the API sends it: where the next one starts as an opaque cursor. */
export function pageBody<T>(page: { data: T[]; next: Position | null }): {
  data: T[];
  nextCursor: string | null;
} {
  return {
    data: page.data,
    nextCursor: page.next === null ? null : encodeKeyset({ createdAt: page.next.at, id: page.next.id }),
  };
}

/** The position a cursor of pageBody names (400 for anything else). */
export function positionOf(cursor: string): Position {
  const keyset = decodeKeyset(cursor);
  return { at: keyset.createdAt, id: keyset.id };
}
