import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createDb } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { onServer, withDatabase } from '../db/provision';
import { registerCleanup } from './support/cleanup';
import { testDatabase } from './support/db';

const MIGRATION_COUNT = readdirSync(path.resolve(__dirname, '..', 'migrations')).filter((f) =>
  f.endsWith('.ts'),
).length;

async function freshDatabase(): Promise<string> {
  const { serverUrl } = await testDatabase();
  const name = `migrate_${randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`create database ${name}`));
  registerCleanup(async () => {
    await onServer(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
  });
  return withDatabase(serverUrl, name);
}

describe('migrations', () => {
  it('when two processes migrate a new database at once, then both succeed and the schema is applied once', async () => {
    const url = await freshDatabase();
    const first = createDb(url, { poolMax: 2 });
    const second = createDb(url, { poolMax: 1 });
    try {
      const [a, b] = await Promise.all([migrateToLatest(first), migrateToLatest(second)]);
      assert.equal(a.length + b.length, MIGRATION_COUNT, `applied ${JSON.stringify([a, b])}`);
      const [{ n }] = (await first('knex_migrations').count({ n: '*' })) as [{ n: string }];
      assert.equal(Number(n), MIGRATION_COUNT);
    } finally {
      await first.destroy();
      await second.destroy();
    }
  });

  it('when npm run migrate runs against a database, then it applies the schema, and a second run finds nothing to do', async () => {
    const url = await freshDatabase();
    const run = () =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'migrate.ts')], {
        env: { ...process.env, DATABASE_URL: url },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /applied: .*_users\.ts.*_ledger\.ts/);
    const second = run();
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /schema already up to date/);
  });
});
