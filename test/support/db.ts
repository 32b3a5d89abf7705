// A fresh, migrated database for this test run: a new database on the server
// named by DATABASE_URL, or, when it is unset, on an embedded PostgreSQL in a
// temporary directory. Started on first use, dropped when the run ends. Tests
// share it and isolate themselves by creating their own users and accounts.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEmbeddedPostgres } from '../../db/embedded-postgres';
import { createDb, type Db } from '../../db/knex';
import { migrateToLatest } from '../../db/migrate';
import { onServer, withDatabase } from '../../db/provision';
import { ensureSystemAccounts } from '../../ledger/accounts';
import { registerCleanup } from './cleanup';

export const TEST_CURRENCY = 'usd';

export interface TestDatabase {
  db: Db;
  url: string;
  /** Server-level URL (the `postgres` database), for creating more databases. */
  serverUrl: string;
}

let shared: Promise<TestDatabase> | undefined;

export function testDatabase(): Promise<TestDatabase> {
  return (shared ??= createTestDatabase());
}

export async function testDb(): Promise<Db> {
  return (await testDatabase()).db;
}

async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = await testServerUrl();
  const name = `test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`create database ${name}`));
  registerCleanup(async () => {
    await onServer(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
  });

  const url = withDatabase(serverUrl, name);
  const db = createDb(url, { poolMax: 20 });
  registerCleanup(() => db.destroy());
  await migrateToLatest(db);
  await ensureSystemAccounts(db, TEST_CURRENCY);
  return { db, url, serverUrl };
}

async function testServerUrl(): Promise<string> {
  const configured = process.env.DATABASE_URL;
  if (configured !== undefined && configured !== '') return configured;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-test-pg-'));
  fs.chmodSync(dir, 0o755);
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'pg'),
    port: await freePort(),
    // A throwaway cluster: durability buys nothing here.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  registerCleanup(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return server.url;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A database of its own (migrated, with the system accounts), dropped when the run ends; for tests that need an empty one. */
export async function isolatedDb(): Promise<Db> {
  const { serverUrl } = await testDatabase();
  const name = `isolated_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`create database ${name}`));
  const db = createDb(withDatabase(serverUrl, name), { poolMax: 5 });
  registerCleanup(async () => {
    await db.destroy();
    await onServer(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
  });
  await migrateToLatest(db);
  await ensureSystemAccounts(db, TEST_CURRENCY);
  return db;
}
