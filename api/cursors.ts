// Keyset cursors of listings ordered by (created_at, id), newest first:
// opaque to clients, checked when they come back. The timestamp travels as
// PostgreSQL wrote it, to the microsecond: a JavaScript Date keeps only
// milliseconds, and rows of one transaction share their created_at, so a
// rounded cursor would skip rows.
import { ValidationError } from './errors';

export interface Keyset {
  /** ISO-8601 UTC with microseconds, as the database gave it (`2026-12-02T12:52:44.123456Z`). */
  createdAt: string;
  id: string;
}

const TIMESTAMP = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeKeyset(keyset: Keyset): string {
  return Buffer.from(`${keyset.createdAt}|${keyset.id}`).toString('base64url');
}

export function decodeKeyset(cursor: string): Keyset {
  const [createdAt, id, extra] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (
    extra !== undefined ||
    createdAt === undefined ||
    !TIMESTAMP.test(createdAt) ||
    Number.isNaN(Date.parse(createdAt)) ||
    id === undefined ||
    !UUID.test(id)
  ) {
    throw new ValidationError('invalid query', [
      { path: 'query.cursor', message: 'not a cursor this API issued' },
    ]);
  }
  return { createdAt, id };
}
