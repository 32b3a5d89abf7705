import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirInUseError, lockDataDir } from '../platform/data-dir-lock';

describe('DATA_DIR lock of npm start', () => {
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-lock-'));

  it('when another live process holds DATA_DIR, then a second start refuses, naming DATA_DIR and the process', async () => {
    const dataDir = dir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      fs.writeFileSync(path.join(dataDir, 'npm-start.pid'), String(other.pid));
      assert.throws(
        () => lockDataDir(dataDir),
        (error: Error) =>
          error instanceof DataDirInUseError &&
          error.message.includes(dataDir) &&
          error.message.includes(String(other.pid)),
      );
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('when the holder died, then the lock is taken over, and released on stop', () => {
    const dataDir = dir();
    fs.writeFileSync(path.join(dataDir, 'npm-start.pid'), '2147483646');
    const release = lockDataDir(dataDir);
    assert.equal(fs.readFileSync(path.join(dataDir, 'npm-start.pid'), 'utf8'), String(process.pid));
    release();
    assert.equal(fs.existsSync(path.join(dataDir, 'npm-start.pid')), false);
    // Free again.
    lockDataDir(dataDir)();
  });
});
