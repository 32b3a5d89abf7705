import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../config/settings';
import {
  DATA_KEY_FILE,
  DEV_ADMIN_EMAIL,
  DEV_ADMIN_PASSWORD_FILE,
  JWT_SECRET_FILE,
  keepDataEncryptionKey,
  keepDevAdmin,
  keepJwtSecret,
} from '../platform/jwt-secret';
import { openBankAccount, parseKeyring, sealBankAccount } from '../withdrawals/bank-details';

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

describe('secrets npm start keeps beside the JWT secret', () => {
  it('when DATA_ENCRYPTION_KEY is unset, then a key is generated once into DATA_DIR (owner-only) and the same key opens what it sealed after a restart', () => {
    const dataDir = tempDataDir();
    const first = keepDataEncryptionKey(loadSettings({ DATA_DIR: dataDir }));
    const file = path.join(dataDir, DATA_KEY_FILE);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const again = keepDataEncryptionKey(loadSettings({ DATA_DIR: dataDir }));
    assert.equal(again.settings.DATA_ENCRYPTION_KEY, first.settings.DATA_ENCRYPTION_KEY);
    const sealed = sealBankAccount(
      parseKeyring(first.settings.DATA_ENCRYPTION_KEY),
      { holderName: 'A', accountNumber: '12345678' },
      'w',
    );
    assert.equal(
      openBankAccount(parseKeyring(again.settings.DATA_ENCRYPTION_KEY), sealed, 'w').accountNumber,
      '12345678',
    );
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when no admin is configured in development, then npm start has admin@example.com with a kept random password; never in production or test, nor beside a configured admin', () => {
    const dataDir = tempDataDir();
    const dev = keepDevAdmin(loadSettings({ DATA_DIR: dataDir }));
    assert.equal(dev.settings.ADMIN_EMAIL, DEV_ADMIN_EMAIL);
    const file = path.join(dataDir, DEV_ADMIN_PASSWORD_FILE);
    assert.equal(dev.passwordFile, file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(dev.settings.ADMIN_PASSWORD, fs.readFileSync(file, 'utf8').trim());
    assert.ok(dev.settings.ADMIN_PASSWORD.length >= 16);
    assert.equal(
      keepDevAdmin(loadSettings({ DATA_DIR: dataDir })).settings.ADMIN_PASSWORD,
      dev.settings.ADMIN_PASSWORD,
    );

    const configured = keepDevAdmin(
      loadSettings({ DATA_DIR: tempDataDir(), ADMIN_EMAIL: 'me@example.org', ADMIN_PASSWORD: 'long enough' }),
    );
    assert.equal(configured.settings.ADMIN_EMAIL, 'me@example.org');
    assert.equal(configured.passwordFile, undefined);
    const testing = tempDataDir();
    assert.equal(
      keepDevAdmin(loadSettings({ DATA_DIR: testing, NODE_ENV: 'test' })).settings.ADMIN_EMAIL,
      undefined,
    );
    assert.equal(fs.existsSync(path.join(testing, DEV_ADMIN_PASSWORD_FILE)), false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
