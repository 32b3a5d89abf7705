// The database every process starts from: provisioned (DATABASE_URL or the
// embedded server), migrated, with the platform's ledger accounts in place.
import type { Settings } from '../config/settings';
import { createDb, type Db } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { provisionDatabase } from '../db/provision';
import { ensureSystemAccounts } from '../ledger/accounts';

export interface ReadyDatabase {
  db: Db;
  /** Connection URL of the database (for the Socket.IO adapter's own small pool). */
  url: string;
  origin: string;
  migrationsApplied: string[];
  close: () => Promise<void>;
}

export async function openDatabase(settings: Settings): Promise<ReadyDatabase> {
  const provisioned = await provisionDatabase({
    databaseUrl: settings.DATABASE_URL,
    dataDir: settings.DATA_DIR,
    embeddedPort: settings.EMBEDDED_PG_PORT,
  });
  const db = createDb(provisioned.url, { poolMax: settings.DATABASE_POOL_MAX });
  try {
    const migrationsApplied = await migrateToLatest(db);
    await ensureSystemAccounts(db, settings.CURRENCY);
    return {
      db,
      url: provisioned.url,
      origin: provisioned.origin,
      migrationsApplied,
      close: async () => {
        await db.destroy();
        await provisioned.stop();
      },
    };
  } catch (error) {
    await db.destroy();
    await provisioned.stop();
    throw error;
  }
}
