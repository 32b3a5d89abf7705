import path from 'node:path';
import type pg from 'pg';
import type { Db } from './knex';

const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
/** Any fixed number: the session lock that makes migrating processes take turns. */
const MIGRATION_LOCK_KEY = 7_461_502_910;

/**
 * Brings the schema to the latest version. The API and the worker start (and
 * migrate) at the same time; knex's own lock table cannot guard its creation,
 * so whoever migrates first holds a session-level advisory lock on a connection
 * of its own, and the others wait, then find nothing left to do.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  // Outside the pool: the migration itself needs the pool's connections, and the pool may hold one.
  const raw = db.client as {
    acquireRawConnection(): Promise<pg.Client>;
    destroyRawConnection(c: pg.Client): Promise<void>;
  };
  const connection = await raw.acquireRawConnection();
  try {
    await connection.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const [, applied] = (await db.migrate.latest({
      directory: MIGRATIONS_DIR,
      loadExtensions: ['.ts', '.js'],
    })) as [number, string[]];
    return applied;
  } finally {
    // Closing the session releases its lock.
    await raw.destroyRawConnection(connection);
  }
}
