// Where the database comes from: DATABASE_URL when set, otherwise an embedded
// PostgreSQL under DATA_DIR that lives as long as this process.
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface ProvisionedDatabase {
  url: string;
  /** Human-readable origin, for the start-up banner. */
  origin: string;
  stop(): Promise<void>;
}

export const EMBEDDED_DATABASE_NAME = 'marketplace';

export async function provisionDatabase(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPort: number;
}): Promise<ProvisionedDatabase> {
  if (options.databaseUrl !== undefined) {
    return { url: options.databaseUrl, origin: 'DATABASE_URL', stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres({
    dataDir: path.join(options.dataDir, 'pg'),
    port: options.embeddedPort,
  });
  await createDatabaseIfMissing(server.url, EMBEDDED_DATABASE_NAME);
  return {
    url: withDatabase(server.url, EMBEDDED_DATABASE_NAME),
    origin: `embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${path.join(options.dataDir, 'pg')}`,
    stop: () => server.stop(),
  };
}

export async function createDatabaseIfMissing(serverUrl: string, name: string): Promise<void> {
  await onServer(serverUrl, async (client) => {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(name)}`);
  });
}

/** Runs `fn` on a short-lived connection to the server (create/drop database cannot run in a pool's transaction). */
export async function onServer<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
