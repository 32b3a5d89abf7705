// Keyset pagination over (created_at, id), newest first. The cursor carries
// created_at as PostgreSQL keeps it, to the microsecond: a JavaScript Date
// keeps milliseconds only, and rows written by one transaction share their
// created_at, so a rounded cursor would skip rows.

/** A timestamp column as cursors carry it: ISO-8601 UTC with microseconds. */
export const keysetTime = (column: string) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** created_at as cursors carry it. */
export const KEYSET_TIME = keysetTime('created_at');

/** Rows strictly after the cursor, in (created_at desc, id desc) order. */
export const OLDER_THAN_KEYSET = '(created_at, id) < (?::timestamptz, ?::uuid)';

/** Where a keyset page starts: the ordering timestamp as cursors carry it (keysetTime), and the id. */
export interface Position {
  at: string;
  id: string;
}
