// The service as a process: npm start's entry point, stopped with SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { testDatabase } from './support/db';

describe('service process', () => {
  it('when it gets SIGTERM, then it stops serving, closes its resources and exits 0', async () => {
    const { url } = await testDatabase();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', 'start.ts')], {
      env: { ...process.env, DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, output);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });
});
