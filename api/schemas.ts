// Schemas shared by several routes.
import { ValidationError } from './errors';
import { z } from './zod';
import type { PreciseTime } from '../wallet/statement';

/**
 * Text that may reach the database: PostgreSQL's text cannot hold NUL, and
 * control characters have no business in names or codes.
 */
export function text(options: { min?: number; max: number; trim?: boolean }) {
  const base = options.trim === true ? z.string().trim() : z.string();
  return (
    base
      .min(options.min ?? 0)
      .max(options.max)
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'must not contain control characters')
  );
}

export const Uuid = z.uuid().openapi({ example: '3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10' });

export const IsoTimestamp = z.iso.datetime({ offset: true }).openapi({ example: '2026-11-22T10:00:00.000Z' });

/**
 * The from/to of a listing's query as dates. Both given with from at or after
 * to is refused: such a period holds nothing, and an empty page would hide
 * the swapped bounds that usually cause it.
 */
export function periodOf(query: { from?: string | undefined; to?: string | undefined }): {
  from?: Date;
  to?: Date;
} {
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (query.from !== undefined && query.to !== undefined && microsOf(query.from) >= microsOf(query.to)) {
    throw new ValidationError('invalid query', [{ path: 'query.from', message: 'must be before to' }]);
  }
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

/** An ISO-8601 time (IsoTimestamp) in microseconds: a Date keeps milliseconds only, PostgreSQL more. */
function microsOf(iso: string): number {
  return Date.parse(iso) * 1000 + microsBeyondMillis(iso);
}

/** An ISO-8601 time (IsoTimestamp) to the microsecond, as PostgreSQL compares it. */
export function preciseTimeOf(iso: string): PreciseTime {
  return { date: new Date(iso), extraMicros: microsBeyondMillis(iso) };
}

/**
 * The microseconds an ISO-8601 time gives beyond its milliseconds (0 to 1000),
 * rounded up: PostgreSQL keeps microseconds, and a bound between two of them
 * (from inclusive, to exclusive) takes in exactly the times of the next one on.
 */
function microsBeyondMillis(iso: string): number {
  const fraction = /T\d\d:\d\d:\d\d\.(\d+)/.exec(iso)?.[1] ?? '';
  const beyond = /[1-9]/.test(fraction.slice(6)) ? 1 : 0;
  return Number(fraction.slice(3, 6).padEnd(3, '0')) + beyond;
}

export const Role = z.enum(['student', 'teacher', 'admin']);
export type Role = z.infer<typeof Role>;

/** A positive amount in minor units of the one currency, bounded by MAX_AMOUNT_MINOR. */
export function amountSchema(maxAmountMinor: number) {
  return z
    .number()
    .int('must be a whole number of minor units')
    .positive('must be positive')
    .max(maxAmountMinor, `must not exceed ${maxAmountMinor}`)
    .openapi({ description: 'Integer amount in minor units (cents)', example: 1500 });
}

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_error' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

export const User = z
  .object({
    id: Uuid,
    email: z.string(),
    name: z.string(),
    role: Role,
    referralCode: z.string().nullable(),
    referredByTeacherId: Uuid.nullable(),
    createdAt: IsoTimestamp,
  })
  .openapi('User');

export const NoBody = z.object({}).strict();
export const NoQuery = z.object({}).strict();

/** `limit` of a paged listing: a whole number 1..max as query text. */
export function pageLimit(max: number, defaultLimit: number) {
  const message = `a whole number from 1 to ${max}`;
  return z
    .string()
    .regex(/^\d{1,3}$/, message)
    .transform(Number)
    .pipe(z.number().min(1, message).max(max, message))
    .default(defaultLimit)
    .openapi({ description: `At most this many (1 to ${max}; ${defaultLimit} unless given)` });
}

/** An opaque cursor this API issued (validated again when decoded). */
export const Cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/)
  .openapi({ description: 'nextCursor of the previous page of this listing (another listing’s is 400)' });

export const IdParams = z.object({ id: Uuid }).strict();
