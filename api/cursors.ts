// Keyset cursors of listings ordered by (created_at, id), newest first:
// opaque to clients, checked when they come back.
import { ValidationError } from './errors';

export interface Keyset {
  createdAt: Date;
  id: string;
}

export function encodeKeyset(keyset: Keyset): string {
  return Buffer.from(`${keyset.createdAt.toISOString()}|${keyset.id}`).toString('base64url');
}

export function decodeKeyset(cursor: string): Keyset {
  const [at, id, extra] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(at ?? '');
  if (
    extra !== undefined ||
    Number.isNaN(createdAt.getTime()) ||
    id === undefined ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)
  ) {
    throw new ValidationError('invalid query', [
      { path: 'query.cursor', message: 'not a cursor this API issued' },
    ]);
  }
  return { createdAt, id };
}
