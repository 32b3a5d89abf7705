// The knex instance (and objection's binding to it). Postgres int8 arrives as a
// JS number: every amount in this system is an integer in minor units, and a
// value beyond Number.MAX_SAFE_INTEGER would be a broken invariant, so it crashes.
import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import pg from 'pg';

export type Db = Knex;
export type Trx = Knex.Transaction;
/** Either the pool or a transaction: database functions accept both. */
export type Conn = Knex | Knex.Transaction;

function parseSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`int8 value ${text} is beyond the safe integer range`);
  return value;
}
pg.types.setTypeParser(pg.types.builtins.INT8, parseSafeInteger);

export function createDb(url: string, options: { poolMax?: number } = {}): Db {
  const db = knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 10_000,
  });
  Model.knex(db);
  return db;
}

interface ConnectionSource {
  acquireConnection(): Promise<pg.ClientBase>;
  releaseConnection(connection: pg.ClientBase): Promise<void>;
}

/**
 * Runs `fn` with the node-postgres connection under a knex instance (one from
 * the pool) or a transaction (its own), for what knex does not offer: named
 * prepared statements.
 */
export async function withConnection<T>(
  conn: Conn,
  fn: (connection: pg.ClientBase) => Promise<T>,
): Promise<T> {
  const source = conn.client as ConnectionSource;
  const connection = await source.acquireConnection();
  try {
    return await fn(connection);
  } finally {
    await source.releaseConnection(connection);
  }
}
