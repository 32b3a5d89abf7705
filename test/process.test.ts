// The service as a process: npm start's entry point (API, worker and the
// embedded Temporal dev server), stopped with SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { freePort, testDatabase } from './support/db';

interface RunningService {
  child: ChildProcessWithoutNullStreams;
  port: number;
  output: () => string;
  dataDir: string;
}

/** Starts the service as `command args` against its own test database; resolves once the API listens. */
async function startService(
  command: string,
  args: string[],
  options: { logLevel: string; detached?: boolean },
): Promise<RunningService> {
  const { url } = await testDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-process-'));
  const child = spawn(command, args, {
    detached: options.detached ?? false,
    env: {
      ...process.env,
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: '',
      DATA_DIR: dataDir,
      DEVSERVER_PORT: String(await freePort()),
      DEVSERVER_UI_PORT: String(await freePort()),
      PORT: '0',
      // Each as a user who set nothing: loopback only, no JWT secret, no metrics.
      HOST: '',
      JWT_SECRET: '',
      METRICS_PORT: '',
      SMTP_URL: '',
      MAIL_CATCHER_SMTP_PORT: String(await freePort()),
      MAIL_CATCHER_WEB_PORT: String(await freePort()),
      METRICS_TOKEN: '',
      LOG_LEVEL: options.logLevel,
      NODE_ENV: 'test',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /API\s+http:\/\/localhost:(\d+)\/api\/v1/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
  });
  return { child, port, output: () => output, dataDir };
}

describe('service process', () => {
  it('when it gets SIGTERM, then it stops serving, closes its resources and exits 0', async () => {
    const { child, port, output, dataDir } = await startService(
      process.execPath,
      ['--import', 'tsx', path.join('scripts', 'start.ts')],
      { logLevel: 'silent' },
    );
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', temporal: 'ok' } });

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, output());
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when npm start runs with nothing set, then it announces each stage, answers this machine only, and signs tokens with a secret kept in DATA_DIR (never one written in the source)', async () => {
    const { child, port, output, dataDir } = await startService(
      process.execPath,
      ['--import', 'tsx', path.join('scripts', 'start.ts')],
      { logLevel: 'silent' },
    );
    try {
      // One line per stage, in order, before the banner.
      const stages = ['database', 'migrations', 'mail', 'Temporal', 'worker', 'API'].map((name) =>
        output().search(new RegExp(`^  … ${name} `, 'm')),
      );
      assert.ok(
        stages.every((at, i) => at >= 0 && (i === 0 || at > stages[i - 1]!)),
        `stages ${stages.join(',')} in:\n${output()}`,
      );

      // SMTP_URL unset: email goes to a local mail catcher whose inbox answers.
      const inbox = /Email\s+local inbox (http:\/\/127\.0\.0\.1:\d+)/.exec(output());
      assert.ok(inbox !== null, output());
      assert.equal((await fetch(`${inbox[1]}/email`)).status, 200);

      // HOST unset: bound to 127.0.0.1 itself, so even another loopback address is refused.
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      await assert.rejects(fetch(`http://127.0.0.2:${port}/healthz`));
      assert.match(output(), /API\s+http:\/\/localhost:\d+\/api\/v1\s+\(this machine only/);

      // JWT_SECRET unset: a secret of this DATA_DIR, readable by its owner only, and said so.
      const file = path.join(dataDir, 'jwt-secret');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const secret = fs.readFileSync(file, 'utf8').trim();
      assert.match(output(), /Tokens\s+signed with the JWT secret generated now and kept in .*jwt-secret/);
      assert.ok(!output().includes(secret), 'the secret itself is never printed');

      const registered = await fetch(`http://127.0.0.1:${port}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `process-${Date.now()}@test.example`,
          password: 'correct horse battery',
          name: 'Ada',
          role: 'student',
        }),
      });
      assert.equal(registered.status, 201);
      const { user, token } = (await registered.json()) as { user: { id: string }; token: string };
      const me = (bearer: string) =>
        fetch(`http://127.0.0.1:${port}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal((await me(token)).status, 200);
      const signedWith = (key: string) =>
        new SignJWT({ role: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(user.id)
          .setIssuer('class-marketplace')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(key));
      // The development default that used to be in config/settings.ts signs nothing any more.
      assert.equal(
        (await me(await signedWith('insecure-development-secret-change-me-0123456789'))).status,
        401,
      );
      assert.equal((await me(await signedWith(secret))).status, 200);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('when ports npm start needs are taken, then it stops before creating anything and names the setting to change for each', async () => {
    const blockers = [net.createServer(), net.createServer()];
    const taken: number[] = [];
    for (const blocker of blockers) {
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      taken.push((blocker.address() as net.AddressInfo).port);
    }
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-taken-ports-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'start.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        TEMPORAL_ADDRESS: '',
        DATA_DIR: dataDir,
        HOST: '',
        JWT_SECRET: '',
        METRICS_PORT: '',
        SMTP_URL: '',
        MAIL_CATCHER_SMTP_PORT: String(await freePort()),
        MAIL_CATCHER_WEB_PORT: String(await freePort()),
        EMBEDDED_PG_PORT: String(await freePort()),
        DEVSERVER_PORT: String(await freePort()),
        DEVSERVER_UI_PORT: String(taken[1]),
        PORT: String(taken[0]),
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    for (const blocker of blockers) blocker.close();

    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`PORT=${taken[0]}: port ${taken[0]} on 127\\.0\\.0\\.1 is taken.*set PORT to a free port`),
    );
    assert.match(
      result.stderr,
      new RegExp(`DEVSERVER_UI_PORT=${taken[1]}: .*set DEVSERVER_UI_PORT to a free port`),
    );
    assert.doesNotMatch(result.stdout, /… database/, 'no stage started');
    assert.equal(fs.existsSync(path.join(dataDir, 'pg')), false, 'initdb never ran');
    assert.equal(fs.existsSync(path.join(dataDir, 'npm-start.pid')), false, 'DATA_DIR is released');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when start-up fails half-way (the dev server cannot open its state), then it exits 1 with the cause and leaves no embedded server', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-failed-start-'));
    // The embedded PostgreSQL starts; the dev server then finds a directory where its file belongs.
    fs.mkdirSync(path.join(dataDir, 'temporal.db'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'start.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        TEMPORAL_ADDRESS: '',
        DATA_DIR: dataDir,
        HOST: '',
        JWT_SECRET: '',
        METRICS_PORT: '',
        SMTP_URL: '',
        MAIL_CATCHER_SMTP_PORT: String(await freePort()),
        MAIL_CATCHER_WEB_PORT: String(await freePort()),
        EMBEDDED_PG_PORT: String(await freePort()),
        DEVSERVER_PORT: String(await freePort()),
        DEVSERVER_UI_PORT: String(await freePort()),
        PORT: String(await freePort()),
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
      },
      encoding: 'utf8',
      timeout: 120_000,
    });

    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /… Temporal/, 'it got as far as Temporal');
    assert.match(result.stderr, /start failed:[\s\S]*EISDIR/);
    const left = spawnSync('pgrep', ['-f', `postgres -D ${path.join(dataDir, 'pg')}`], {
      encoding: 'utf8',
    }).stdout;
    assert.equal(left.trim(), '', 'no postgres is left running');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when Ctrl-C reaches npm start and everything it runs at once, then the service drains and stops', async () => {
    // Its own process group, as a terminal's foreground job: the signal reaches npm, the
    // shell and node, and npm relays it to its child as well.
    const { child, port, output, dataDir } = await startService('npm', ['start'], {
      logLevel: 'info',
      detached: true,
    });

    // 'close': every process holding the output pipes is gone, node included, not only npm.
    const closed = once(child, 'close');
    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = (await closed) as [number | null, NodeJS.Signals | null];
    // npm itself ends by the signal it got (as after Ctrl-C in a terminal), or with node's 0.
    assert.ok(code === 0 || signal === 'SIGINT', `npm ended with ${code ?? signal}\n${output()}`);
    assert.match(output(), /"msg":"stopped"/);
    assert.doesNotMatch(output(), /second signal/);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
