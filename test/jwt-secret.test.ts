import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../config/settings';
import { JWT_SECRET_FILE, keepJwtSecret } from '../platform/jwt-secret';

function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'marketplace-jwt-'));
}

describe('JWT secret of npm start', () => {
  it('when JWT_SECRET is unset, then a random secret is generated once into DATA_DIR (owner-only) and kept across starts', () => {
    const dataDir = tempDataDir();
    const first = keepJwtSecret(loadSettings({ DATA_DIR: dataDir }));
    const file = path.join(dataDir, JWT_SECRET_FILE);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(first.settings.JWT_SECRET, fs.readFileSync(file, 'utf8').trim());
    assert.ok(first.settings.JWT_SECRET.length >= 32);
    assert.match(first.source, /generated now and kept in .*jwt-secret/);

    const again = keepJwtSecret(loadSettings({ DATA_DIR: dataDir }));
    assert.equal(again.settings.JWT_SECRET, first.settings.JWT_SECRET);
    assert.match(again.source, /generated once, kept in/);

    const elsewhere = keepJwtSecret(loadSettings({ DATA_DIR: tempDataDir() }));
    assert.notEqual(elsewhere.settings.JWT_SECRET, first.settings.JWT_SECRET);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when JWT_SECRET is set, then it is used and nothing is written', () => {
    const dataDir = tempDataDir();
    const kept = keepJwtSecret(loadSettings({ DATA_DIR: dataDir, JWT_SECRET: 's'.repeat(32) }));
    assert.equal(kept.settings.JWT_SECRET, 's'.repeat(32));
    assert.equal(kept.source, 'JWT_SECRET');
    assert.equal(fs.existsSync(path.join(dataDir, JWT_SECRET_FILE)), false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the kept file holds no usable secret, then start-up stops and names the file', () => {
    const dataDir = tempDataDir();
    fs.writeFileSync(path.join(dataDir, JWT_SECRET_FILE), 'short\n', { mode: 0o600 });
    assert.throws(
      () => keepJwtSecret(loadSettings({ DATA_DIR: dataDir })),
      /jwt-secret holds no usable JWT secret/,
    );
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the kept file is readable by others, then it is made owner-only again', () => {
    const dataDir = tempDataDir();
    const file = path.join(dataDir, JWT_SECRET_FILE);
    fs.writeFileSync(file, `${'k'.repeat(40)}\n`);
    fs.chmodSync(file, 0o644);
    const kept = keepJwtSecret(loadSettings({ DATA_DIR: dataDir }));
    assert.equal(kept.settings.JWT_SECRET, 'k'.repeat(40));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when a second start finds the kept secret, then it uses it, and the drafts the secret was written through are gone', () => {
    const dataDir = tempDataDir();
    const settings = loadSettings({ DATA_DIR: dataDir });
    const first = keepJwtSecret(settings);
    const second = keepJwtSecret(settings);
    assert.equal(second.settings.JWT_SECRET, first.settings.JWT_SECRET);
    assert.deepEqual(fs.readdirSync(dataDir), [JWT_SECRET_FILE]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
