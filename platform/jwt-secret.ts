// Without JWT_SECRET (outside production), a process gets a random secret of
// its own; `npm start` (and the API alone in development) instead generate one
// once and keep it in DATA_DIR, so tokens outlive a restart while no secret
// anyone could read in the source signs them. The data encryption key that
// seals bank details is kept the same way.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/settings';
import { parseKeyring } from '../withdrawals/bank-details';

export const JWT_SECRET_FILE = 'jwt-secret';

export interface KeptSecret {
  settings: Settings;
  /** For the start-up banner: where the secret comes from (never the secret). */
  source: string;
}

/** The settings with their JWT secret taken from JWT_SECRET, or else from DATA_DIR/jwt-secret (made on first use). */
export function keepJwtSecret(settings: Settings): KeptSecret {
  if (settings.jwtSecretSource === 'JWT_SECRET') {
    return { settings, source: 'JWT_SECRET' };
  }
  const kept = keepSecretFile(settings.DATA_DIR, JWT_SECRET_FILE, () =>
    randomBytes(32).toString('base64url'),
  );
  if (kept.secret.length < 32) {
    throw new Error(
      `${kept.file} holds no usable JWT secret (at least 32 characters): delete it or set JWT_SECRET`,
    );
  }
  return {
    settings: { ...settings, JWT_SECRET: kept.secret },
    source: `${kept.created ? 'generated now and kept' : 'generated once, kept'} in ${kept.file} (set JWT_SECRET to use your own)`,
  };
}

export const DATA_KEY_FILE = 'data-encryption-key';

/**
 * The settings with their data encryption key taken from DATA_ENCRYPTION_KEY,
 * or else from DATA_DIR/data-encryption-key (made on first use): bank details
 * sealed by one start must open after a restart.
 */
export function keepDataEncryptionKey(settings: Settings): KeptSecret {
  if (settings.dataKeySource === 'DATA_ENCRYPTION_KEY') {
    return { settings, source: 'DATA_ENCRYPTION_KEY' };
  }
  const kept = keepSecretFile(settings.DATA_DIR, DATA_KEY_FILE, () => randomBytes(32).toString('base64'));
  try {
    parseKeyring(kept.secret);
  } catch (error) {
    throw new Error(
      `${kept.file} holds no usable data encryption key (${(error as Error).message}): restore it or set DATA_ENCRYPTION_KEY`,
      { cause: error },
    );
  }
  return {
    settings: { ...settings, DATA_ENCRYPTION_KEY: kept.secret },
    source: `${kept.created ? 'generated now and kept' : 'generated once, kept'} in ${kept.file} (set DATA_ENCRYPTION_KEY to use your own)`,
  };
}

export const DEV_ADMIN_EMAIL = 'admin@example.com';
export const DEV_ADMIN_PASSWORD_FILE = 'admin-password';

/**
 * In development without ADMIN_EMAIL / ADMIN_PASSWORD, npm start still has an
 * admin to log in as (reviews, withdrawals, the demo): admin@example.com, with
 * a random password kept in DATA_DIR/admin-password. Never in production or
 * tests, and never when either setting is given.
 */
export function keepDevAdmin(settings: Settings): { settings: Settings; passwordFile?: string } {
  if (
    settings.NODE_ENV !== 'development' ||
    settings.ADMIN_EMAIL !== undefined ||
    settings.ADMIN_PASSWORD !== undefined
  ) {
    return { settings };
  }
  const kept = keepSecretFile(settings.DATA_DIR, DEV_ADMIN_PASSWORD_FILE, () =>
    randomBytes(12).toString('base64url'),
  );
  return {
    settings: { ...settings, ADMIN_EMAIL: DEV_ADMIN_EMAIL, ADMIN_PASSWORD: kept.secret },
    passwordFile: kept.file,
  };
}

/** A secret kept in `dir/name`, made by `generate` when the file does not exist yet; owner-only. */
export function keepSecretFile(
  dir: string,
  name: string,
  generate: () => string,
): { secret: string; file: string; created: boolean } {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  let created = false;
  // Written whole to a file of its own, then linked into place: a second process
  // starting at once finds either no file or the whole secret (link fails on an
  // existing file, so the first one's stays), and a crash leaves no empty file.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(draft, `${generate()}\n`, { flag: 'wx', mode: 0o600 });
  try {
    fs.linkSync(draft, file);
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(draft, { force: true });
  }
  // A secret others can read is no secret: only its owner may.
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return { secret: fs.readFileSync(file, 'utf8').trim(), file, created };
}
