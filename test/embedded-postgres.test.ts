// The embedded PostgreSQL behind `npm start` and `npm test` on a bare machine.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded-postgres';
import { freePort } from './support/db';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-pg-test-'));
  return dir;
}

async function select1(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return ((await client.query('select 1 as one')).rows[0] as { one: number }).one;
  } finally {
    await client.end();
  }
}

function serversOn(dataDir: string): string[] {
  const found = spawnSync('pgrep', ['-f', `postgres -D ${dataDir}`], { encoding: 'utf8' });
  return found.stdout.split('\n').filter(Boolean);
}

describe('embedded PostgreSQL', () => {
  it('when the Node process that started it is killed with SIGKILL, then the next start adopts the orphaned server', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'pg');
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/children/embedded-postgres.ts', dataDir, String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('READY')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${output}`)));
    });
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    assert.equal(serversOn(dataDir).length, 1, 'the orphan outlived its parent');

    const adopted = await startEmbeddedPostgres({ dataDir, port });
    assert.equal(await select1(adopted.url), 1);
    await adopted.stop();
    assert.deepEqual(serversOn(dataDir), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when it runs, then it is in a process group of its own, so a Ctrl-C to ours does not stop it before we drain', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'pg');
    const server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const groupOf = (p: number) =>
      spawnSync('ps', ['-o', 'pgid=', '-p', String(p)], { encoding: 'utf8' }).stdout.trim();
    assert.notEqual(groupOf(pid), '');
    assert.notEqual(groupOf(pid), groupOf(process.pid));
    assert.equal(await select1(server.url), 1);
    await server.stop();
    assert.deepEqual(serversOn(dataDir), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when another live process already runs it, then a second start shares it and leaves it running', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'pg');
    const port = await freePort();
    const owner = await startEmbeddedPostgres({ dataDir, port });
    const guest = await startEmbeddedPostgres({ dataDir, port });
    assert.equal(await select1(guest.url), 1);
    await guest.stop();
    assert.equal(await select1(owner.url), 1, 'still served after the guest stopped');
    await owner.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the running server listens on another port than this process was given, then a second start connects where its postmaster.pid says', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'pg');
    const port = await freePort();
    const owner = await startEmbeddedPostgres({ dataDir, port });
    try {
      // Nothing listens on this one: a second start that trusted it would wait and fail.
      const guest = await startEmbeddedPostgres({ dataDir, port: await freePort() });
      assert.equal(guest.port, port);
      assert.equal(await select1(guest.url), 1);
      await guest.stop();
    } finally {
      await owner.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when npm start runs its embedded server on another port, then npm run migrate and npm run ledger:audit find it through DATA_DIR', async () => {
    const dir = tempDir();
    const port = await freePort();
    const owner = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port });
    const env = {
      ...process.env,
      DATABASE_URL: '',
      DATA_DIR: dir,
      EMBEDDED_PG_PORT: String(await freePort()),
      NODE_ENV: 'test',
    };
    // Well under the 60 s a start waits for a server that does not answer.
    const run = (script: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', script)], {
        env,
        encoding: 'utf8',
        timeout: 40_000,
      });
    try {
      const migrated = run('migrate.ts');
      assert.equal(migrated.status, 0, migrated.stderr);
      assert.match(migrated.stdout, /applied: .*_ledger\.ts/);
      const audited = run('ledger-audit.ts');
      assert.equal(audited.status, 0, audited.stderr);
      assert.match(audited.stdout, /all invariants hold/);
    } finally {
      await owner.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the server cannot start, then the error carries the server’s own words and nothing is left running', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'pg');
    await assert.rejects(
      startEmbeddedPostgres({ dataDir, port: await freePort(), settings: { shared_buffers: 'plenty' } }),
      /exited during start:[\s\S]*invalid value for parameter "shared_buffers"/,
    );
    assert.deepEqual(serversOn(dataDir), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
