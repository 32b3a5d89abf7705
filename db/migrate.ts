import path from 'node:path';
import type { Db } from './knex';

const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');

/** Brings the schema to the latest version; safe to run concurrently (knex takes a lock). */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({
    directory: MIGRATIONS_DIR,
    loadExtensions: ['.ts', '.js'],
  })) as [number, string[]];
  return applied;
}
