// The service as a process: npm start's entry point (API, worker and the
// embedded Temporal dev server), stopped with SIGTERM.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
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

  it('when start-up fails half-way (the API port is taken), then it exits 1 with the cause and leaves no embedded server', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const takenPort = (blocker.address() as net.AddressInfo).port;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-failed-start-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'start.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        TEMPORAL_ADDRESS: '',
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
        DEVSERVER_PORT: String(await freePort()),
        DEVSERVER_UI_PORT: String(await freePort()),
        PORT: String(takenPort),
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    blocker.close();

    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /start failed:[\s\S]*EADDRINUSE/);
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
