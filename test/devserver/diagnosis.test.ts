import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { DEVSERVER_EXECUTABLE } from '../support/devserver';
import { waitFor } from './helpers';

/** The executable as the SDK launches it, with DEVSERVER_LOG_LEVEL=debug; its stderr kept. */
async function launchWithDebugLog(): Promise<{ child: ChildProcess; address: string; stderr: () => string }> {
  const child = spawn(DEVSERVER_EXECUTABLE, ['server', 'start-dev', '--port', '0', '--headless'], {
    env: { ...process.env, DEVSERVER_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  let address = '';
  await waitFor(async () => {
    address = /Temporal dev server at ([\d.]+:\d+)/.exec(text)?.[1] ?? '';
    return address !== '' || child.exitCode !== null;
  }, 'the server to print its address');
  assert.ok(address, `the server did not start: ${text}`);
  return { child, address, stderr: () => text };
}

describe('dev server: diagnosis', function () {
  let child: ChildProcess | undefined;

  afterEach(async function () {
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('when DEVSERVER_LOG_LEVEL=debug and a client calls a method the dev server does not serve, then the call and its UNIMPLEMENTED answer are logged', async function () {
    const launched = await launchWithDebugLog();
    child = launched.child;
    const connection = await Connection.connect({ address: launched.address });
    try {
      await assert.rejects(
        connection.workflowService.listSchedules({ namespace: 'default' }),
        (err: { code?: number }) => err.code === 12, // UNIMPLEMENTED
      );
    } finally {
      await connection.close();
    }
    await waitFor(async () => /<- ListSchedules UNIMPLEMENTED/.test(launched.stderr()), 'the log lines');
    assert.match(launched.stderr(), /DEBUG -> ListSchedules\n/);
    assert.match(launched.stderr(), /DEBUG <- ListSchedules UNIMPLEMENTED: ListSchedules is not implemented/);
  });
});
