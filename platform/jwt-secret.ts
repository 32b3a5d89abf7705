// Without JWT_SECRET (outside production), a process gets a random secret of
// its own; `npm start` (and the API alone in development) instead generate one
// once and keep it in DATA_DIR, so tokens outlive a restart while no secret
// anyone could read in the source signs them.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from '../config/settings';

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
  fs.mkdirSync(settings.DATA_DIR, { recursive: true });
  const file = path.join(settings.DATA_DIR, JWT_SECRET_FILE);
  let created = false;
  // Written whole to a file of its own, then linked into place: a second process
  // starting at once finds either no file or the whole secret (link fails on an
  // existing file, so the first one's stays), and a crash leaves no empty file.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(draft, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
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
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 32) {
    throw new Error(
      `${file} holds no usable JWT secret (at least 32 characters): delete it or set JWT_SECRET`,
    );
  }
  return {
    settings: { ...settings, JWT_SECRET: secret },
    source: `${created ? 'generated now and kept' : 'generated once, kept'} in ${file} (set JWT_SECRET to use your own)`,
  };
}
