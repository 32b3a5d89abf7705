import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadSettings } from '../config/settings';
import { ENV_EXAMPLE, envExample, README, readmeWithTable } from '../scripts/config-doc';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail(`settings ${JSON.stringify(env)} were accepted`);
}

describe('configuration', () => {
  it('when nothing is set, then the spec’s defaults apply', () => {
    const settings = loadSettings({});
    assert.equal(settings.PORT, 3000);
    assert.equal(settings.OPEN_BEFORE_MINUTES, 15);
    assert.equal(settings.TEACHER_SHARE_REFERRED_PERCENT, 70);
    assert.equal(settings.TEACHER_SHARE_DEFAULT_PERCENT, 30);
    assert.equal(settings.END_GRACE_MINUTES, 5);
    assert.equal(settings.DISPUTE_WINDOW_HOURS, 0);
    assert.equal(settings.ATTENDANCE_RELEASE_PERCENT, 20);
    assert.equal(settings.LATE_CANCEL_HOURS, 24);
    assert.equal(settings.LATE_CANCEL_REFUND_PERCENT, 50);
    assert.equal(settings.REVIEW_REMINDER_HOURS, 24);
    assert.equal(settings.CURRENCY, 'usd');
    assert.equal(settings.LIVEKIT_API_KEY, 'devkey');
    assert.equal(settings.ENABLE_TEST_DEPOSITS, true);
    assert.equal(settings.DATABASE_URL, undefined);
    assert.equal(settings.HOST, '127.0.0.1');
    assert.equal(settings.METRICS_PORT, undefined);
    assert.equal(settings.METRICS_HOST, '127.0.0.1');
  });

  it('when JWT_SECRET is unset, then tokens are never signed with a secret written in the source: each process draws its own', () => {
    const first = loadSettings({});
    const second = loadSettings({});
    assert.equal(first.jwtSecretSource, 'random');
    assert.ok(first.JWT_SECRET.length >= 32);
    assert.notEqual(first.JWT_SECRET, second.JWT_SECRET);
    assert.notEqual(first.JWT_SECRET, 'insecure-development-secret-change-me-0123456789');
    const given = loadSettings({ JWT_SECRET: 'g'.repeat(40) });
    assert.equal(given.jwtSecretSource, 'JWT_SECRET');
    assert.equal(given.JWT_SECRET, 'g'.repeat(40));
  });

  it('when HOST or the metrics settings are bad, then each is named with what it allows', () => {
    for (const host of ['0.0.0.0', '::', 'localhost', 'api.internal', '192.168.1.10']) {
      assert.equal(loadSettings({ HOST: host }).HOST, host);
    }
    const problems = problemsOf({ HOST: 'not a host!', METRICS_PORT: '0', METRICS_HOST: 'http://x' });
    assert.deepEqual(
      problems.map((p) => p.split('=')[0]),
      ['HOST', 'METRICS_PORT', 'METRICS_HOST'],
    );
    const short = problemsOf({ METRICS_TOKEN: 'short-token' });
    assert.deepEqual(short, ['METRICS_TOKEN: must be at least 16 characters']);
    assert.doesNotMatch(problemsOf({ METRICS_TOKEN: 'x', METRICS_PORT: 'y' }).join('\n'), /"x"/);
  });

  it('when NODE_ENV is production, then test deposits are off and a JWT secret and a data encryption key are required', () => {
    assert.deepEqual(problemsOf({ NODE_ENV: 'production' }), [
      'JWT_SECRET: required when NODE_ENV=production',
      'DATA_ENCRYPTION_KEY: required when NODE_ENV=production',
    ]);
    const settings = loadSettings({
      NODE_ENV: 'production',
      JWT_SECRET: 's'.repeat(32),
      DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    assert.equal(settings.ENABLE_TEST_DEPOSITS, false);
  });

  it('when values are bad, then every bad key is named with what it allows', () => {
    const problems = problemsOf({
      PORT: 'abc',
      CURRENCY: 'USD',
      ENABLE_TEST_DEPOSITS: 'maybe',
      ATTENDANCE_RELEASE_PERCENT: '120',
      DATABASE_URL: 'not a url',
    });
    for (const key of [
      'PORT',
      'CURRENCY',
      'ENABLE_TEST_DEPOSITS',
      'ATTENDANCE_RELEASE_PERCENT',
      'DATABASE_URL',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(`${key}=`)),
        `${key} not named in ${JSON.stringify(problems)}`,
      );
    }
    assert.deepEqual(problemsOf({ ADMIN_EMAIL: 'root@example.com' }), [
      'ADMIN_EMAIL and ADMIN_PASSWORD: set both or neither',
    ]);
    assert.deepEqual(problemsOf({ JWT_SECRET: 'short' }), ['JWT_SECRET: must be at least 32 characters']);
  });

  it('when a number is not plain digits or out of range, then it is refused with the allowed range', () => {
    for (const value of ['0x10', '1e3', '-1', '2.5', 'abc', '101']) {
      const [problem] = problemsOf({ ATTENDANCE_RELEASE_PERCENT: value });
      assert.equal(problem, `ATTENDANCE_RELEASE_PERCENT="${value}": a whole number from 0 to 100`);
    }
  });

  it('when a setting is set but empty, then it counts as unset (its default), never as 0', () => {
    const settings = loadSettings({
      PORT: '',
      TEACHER_SHARE_DEFAULT_PERCENT: ' ',
      DATABASE_URL: '',
      SMTP_URL: '',
    });
    assert.equal(settings.PORT, 3000);
    assert.equal(settings.TEACHER_SHARE_DEFAULT_PERCENT, 30);
    assert.equal(settings.DATABASE_URL, undefined);
  });

  it('when addresses have the wrong form, then they are refused', () => {
    const problems = problemsOf({
      DATABASE_URL: 'http://db/x',
      TEMPORAL_ADDRESS: 'temporal',
      SMTP_URL: 'http://mail',
    });
    assert.deepEqual(
      problems.map((p) => p.split('=')[0]),
      ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL'],
    );
  });

  it('when a secret or a URL with a password is refused, then the message names the key but never shows the secret', () => {
    const problems = problemsOf({
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'abc',
      DATABASE_URL: 'mysql://app:s3cretpw@db/x',
    });
    const text = problems.join('\n');
    assert.match(text, /^ADMIN_PASSWORD=/m);
    assert.match(text, /DATABASE_URL="mysql:\/\/app:\*\*\*@db\/x"/);
    assert.doesNotMatch(text, /abc|s3cretpw/);
  });

  it('when the service starts with a bad value, then it exits with a message naming the key', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'start.ts')], {
      env: { ...process.env, PORT: 'not-a-port', DATABASE_URL: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /PORT="not-a-port"/);
  });

  it('when a setting is added, then README.md and .env.example already document it (npm run config:doc)', () => {
    assert.equal(fs.readFileSync(README, 'utf8'), readmeWithTable(fs.readFileSync(README, 'utf8')));
    assert.equal(fs.readFileSync(ENV_EXAMPLE, 'utf8'), envExample());
  });
});
