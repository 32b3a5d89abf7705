// Idempotency-Key on money-moving POSTs: the same user sending the same key
// and the same request gets the first response again (header
// Idempotent-Replayed: true); the same key with another request is 422; the
// same key while the first is still running is 409. Only successful answers
// are kept: a refused request (4xx) releases its key and changes nothing, so
// it may be corrected and retried with the same key.
//
// A key is claimed with a token and a lease that the running request renews;
// only the holder of the token completes or releases it. If a process dies
// mid-request, the lease lapses and a retry takes the key over: safe, because
// money-moving work derives its transfer ids from the key.
import { createHash, createHmac, hkdfSync, randomUUID } from 'node:crypto';
import type {} from 'pino-http'; // types req.log
import type { Request } from 'express';
import type { Db } from '../db/knex';
import type { UserModel } from '../users/user-model';
import type { DataKeyring } from '../withdrawals/bank-details';
import { ConflictError, IdempotencyKeyReusedError, ValidationError } from './errors';
import type { Reply } from './route';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** How long a claim lasts without renewal before a retry may take it over. */
const LEASE_SECONDS = 60;
/** A running request renews its claim this often, so only a dead one loses it. */
const RENEW_EVERY_MS = 20_000;

interface KeyRow {
  request_hash: string;
  state: 'in_progress' | 'completed';
  lease_expired: boolean;
  status_code: number | null;
  /** The JSON text of the answer exactly as it was sent (null: no body). */
  response_body: string | null;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return undefined;
  if (!KEY_PATTERN.test(key)) {
    throw new ValidationError('invalid Idempotency-Key', [
      { path: 'header.Idempotency-Key', message: '1 to 255 visible ASCII characters' },
    ]);
  }
  return key;
}

/** The keys stored request hashes are made with. */
export interface RequestHashKeys {
  /** DATA_ENCRYPTION_KEY's: the current key hashes, the older ones still recognise what they hashed. */
  keyring: DataKeyring;
  /** JWT_SECRET, which keyed the hashes stored before they named their key. */
  formerSecret: string;
}

/** What a stored request hash looks like, by the key that made it. */
const NAMED_KEY_HASH = /^hmac:([0-9a-f]{16}):([0-9a-f]{64})$/;

/**
 * Requests are remembered by a keyed hash (HMAC-SHA256 under a key derived
 * from the data key that seals bank details), never a plain one: a body
 * holding a bank account whose other parts are shown (holder, last 4) would
 * otherwise be recoverable from its stored hash by guessing the rest. The
 * stored hash names its data key, so a retry is recognised across a rotation
 * of the keyring (the old key stays in it) and of JWT_SECRET (which keyed the
 * hashes before, and may be rotated at any time: it only logs everyone out).
 */
function requestHasher(keys: RequestHashKeys): {
  hash: (request: unknown) => string;
  /** Whether a stored hash is this request's, under whichever key made it. */
  matches: (stored: string, request: unknown) => boolean;
} {
  // A key of its own for each data key (HKDF), never the sealing key itself.
  const macKeys = new Map(
    [...keys.keyring.byId].map(([id, dataKey]) => [
      id,
      Buffer.from(hkdfSync('sha256', dataKey.key, '', 'idempotency request hash', 32)),
    ]),
  );
  const formerMacKey = createHmac('sha256', keys.formerSecret).update('idempotency request hash').digest();
  const mac = (key: Buffer, request: unknown) =>
    createHmac('sha256', key).update(canonicalJson(request)).digest('hex');
  const current = keys.keyring.current.id;
  const currentMacKey = macKeys.get(current)!;
  return {
    hash: (request) => `hmac:${current}:${mac(currentMacKey, request)}`,
    matches(stored, request) {
      const named = NAMED_KEY_HASH.exec(stored);
      if (named !== null) {
        const key = macKeys.get(named[1]!);
        return key !== undefined && named[2] === mac(key, request);
      }
      // Stored by an earlier version within a key's retention (IDEMPOTENCY_KEY_RETENTION_HOURS): keyed
      // with JWT_SECRET, or plain before that. Both may go once every deployment has run this version
      // for that long.
      if (stored.startsWith('hmac:')) return stored === `hmac:${mac(formerMacKey, request)}`;
      return stored === createHash('sha256').update(canonicalJson(request)).digest('hex');
    },
  };
}

export function createIdempotency(db: Db, keys: RequestHashKeys) {
  const hasher = requestHasher(keys);
  return async function idempotent(
    req: Request,
    user: UserModel,
    request: unknown,
    execute: () => Promise<Reply>,
  ): Promise<Reply> {
    const key = idempotencyKeyOf(req);
    if (key === undefined) return execute();
    const hash = hasher.hash(request);
    const token = randomUUID();

    const claimed = await claim(db, {
      userId: user.id,
      key,
      hash,
      token,
      isHashOf: (stored) => hasher.matches(stored, request),
    });
    if (claimed !== 'claimed') return claimed;

    const mine = { user_id: user.id, key, claim_token: token, state: 'in_progress' };
    const renewal = setInterval(() => {
      db('idempotency_keys')
        .where(mine)
        .update({ lease_until: db.raw('now() + make_interval(secs => ?)', [LEASE_SECONDS]) })
        .catch(() => undefined); // a missed renewal only shortens the lease
    }, RENEW_EVERY_MS);
    let reply: Reply & { body?: string };
    try {
      reply = asSent(await execute());
    } catch (error) {
      await db('idempotency_keys').where(mine).delete();
      throw error;
    } finally {
      clearInterval(renewal);
    }
    const completed = await db('idempotency_keys')
      .where(mine)
      .update({
        state: 'completed',
        status_code: reply.status,
        response_body: reply.body ?? null,
      });
    if (completed !== 1) {
      // Our lease lapsed and another request took the key over; its answer will be the one kept.
      req.log.warn({ key }, 'idempotency claim lost before completion');
    }
    return reply;
  };
}

interface Claim {
  userId: string;
  key: string;
  hash: string;
  /** Whether a stored hash that is not `hash` is still this request's (made under an older key). */
  isHashOf: (stored: string) => boolean;
  token: string;
}

async function claim(db: Db, c: Claim, attempt = 1): Promise<'claimed' | Reply> {
  const inserted = await db.raw<{ rowCount: number }>(
    `insert into idempotency_keys (user_id, key, request_hash, state, claim_token, lease_until)
     values (?, ?, ?, 'in_progress', ?, now() + make_interval(secs => ?))
     on conflict do nothing`,
    [c.userId, c.key, c.hash, c.token, LEASE_SECONDS],
  );
  if (inserted.rowCount === 1) return 'claimed';

  const { rows } = await db.raw<{ rows: KeyRow[] }>(
    `select request_hash, state, lease_until <= now() as lease_expired, status_code, response_body
       from idempotency_keys where user_id = ? and key = ?`,
    [c.userId, c.key],
  );
  const row = rows[0];
  // Released by a refused request between our insert and this read: claim again (a few times at most).
  if (row === undefined) {
    if (attempt < 3) return claim(db, c, attempt + 1);
    throw new ConflictError(
      'request_in_progress',
      'a request with this Idempotency-Key is still in progress',
    );
  }
  const sameRequest = row.request_hash === c.hash || c.isHashOf(row.request_hash);
  if (!sameRequest) throw new IdempotencyKeyReusedError();
  if (row.state === 'completed') {
    return {
      status: row.status_code!,
      ...(row.response_body === null ? {} : { body: row.response_body, contentType: JSON_TYPE }),
      headers: { 'Idempotent-Replayed': 'true' },
    };
  }
  if (row.lease_expired) {
    // The first request died mid-way; its work is keyed by the same key, so running again is safe.
    const taken = await db.raw<{ rowCount: number }>(
      `update idempotency_keys set claim_token = ?, lease_until = now() + make_interval(secs => ?)
        where user_id = ? and key = ? and state = 'in_progress' and lease_until <= now()`,
      [c.token, LEASE_SECONDS, c.userId, c.key],
    );
    if (taken.rowCount === 1) return 'claimed';
  }
  throw new ConflictError('request_in_progress', 'a request with this Idempotency-Key is still in progress');
}

/**
 * The answer as the bytes it is sent as: the first response and every replay
 * send this one text, so a replay is identical to the first answer.
 */
function asSent(reply: Reply): Reply & { body?: string } {
  if (reply.body === undefined) return { ...reply, body: undefined };
  if (reply.contentType !== undefined) throw new Error('an idempotent route answers JSON only');
  return { ...reply, body: JSON.stringify(reply.body), contentType: JSON_TYPE };
}

/** Keys sorted, so that a reordered JSON object is the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
