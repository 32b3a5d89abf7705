// Keyset cursors of listings ordered by (a timestamp, id), mostly created_at
// newest first: opaque to clients, checked when they come back. The timestamp
// travels as PostgreSQL wrote it, to the microsecond: a JavaScript Date keeps
// only milliseconds, and rows of one transaction share their created_at, so a
// rounded cursor would skip rows. The statement pages by its lines' sequence
// number instead. A cursor names its listing, so one handed to another
// listing (a client's mix-up) is refused rather than answered with a
// plausible page from somewhere else.
import type { Position } from '../db/keyset';
import { ValidationError } from './errors';

export interface Keyset {
  /** ISO-8601 UTC with microseconds, as the database gave it (`2026-12-02T12:52:44.123456Z`). */
  createdAt: string;
  id: string;
}

/** The listings that page with keyset cursors; each cursor names the one that issued it. */
const KEYSET_LISTINGS = [
  'bookings',
  'reviews',
  'teachers',
  'teacher-meetings',
  'withdrawals',
  'notifications',
] as const;
export type Listing = (typeof KEYSET_LISTINGS)[number];

/** The statement (GET /wallet/transactions), paged by sequence number. */
const STATEMENT = 'transactions';

const LISTINGS: ReadonlySet<string> = new Set<string>([...KEYSET_LISTINGS, STATEMENT]);

/**
 * The parts of a cursor after the listing it names, refusing another listing's
 * (400). A cursor issued before cursors named their listing (a client paging
 * across that deploy) names none, and is honoured as this listing's.
 */
function partsFor(cursor: string, listing: string): string[] {
  const parts = Buffer.from(cursor, 'base64url').toString().split('|');
  const [issuer] = parts;
  if (issuer === undefined || !LISTINGS.has(issuer)) return parts;
  if (issuer !== listing) {
    throw new ValidationError('invalid query', [
      {
        path: 'query.cursor',
        message: `a cursor of another listing (${issuer}): page this one with its own nextCursor`,
      },
    ]);
  }
  return parts.slice(1);
}

function notIssued(): ValidationError {
  return new ValidationError('invalid query', [
    { path: 'query.cursor', message: 'not a cursor this API issued' },
  ]);
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

export function encodeKeyset(keyset: Keyset, listing: Listing): string {
  return Buffer.from(`${listing}|${keyset.createdAt}|${keyset.id}`).toString('base64url');
}

export function decodeKeyset(cursor: string, listing: Listing): Keyset {
  const [createdAt, id, extra] = partsFor(cursor, listing);
  if (
    extra !== undefined ||
    createdAt === undefined ||
    !TIMESTAMP.test(createdAt) ||
    !isRealTime(createdAt) ||
    id === undefined ||
    !UUID.test(id)
  ) {
    throw notIssued();
  }
  return { createdAt, id };
}

/** The statement's cursor: where the next page starts, by line sequence number. */
export function encodeStatementCursor(seq: number): string {
  return Buffer.from(`${STATEMENT}|${seq}`).toString('base64url');
}

export function decodeStatementCursor(cursor: string): number {
  const [seqText, extra] = partsFor(cursor, STATEMENT);
  const seq = extra === undefined && /^[1-9]\d{0,15}$/.test(seqText ?? '') ? Number(seqText) : NaN;
  if (!Number.isSafeInteger(seq)) throw notIssued();
  return seq;
}

/** A page as the API sends it: where the next one starts as an opaque cursor. */
export function pageBody<T>(
  page: { data: T[]; next: Position | null },
  listing: Listing,
): {
  data: T[];
  nextCursor: string | null;
} {
  return {
    data: page.data,
    nextCursor:
      page.next === null ? null : encodeKeyset({ createdAt: page.next.at, id: page.next.id }, listing),
  };
}

/** The position a cursor of pageBody names (400 for anything else, or another listing's). */
export function positionOf(cursor: string, listing: Listing): Position {
  const keyset = decodeKeyset(cursor, listing);
  return { at: keyset.createdAt, id: keyset.id };
}
