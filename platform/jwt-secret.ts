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
  try {
    // Only this user may read it; `wx`: two processes starting at once keep the first one's.
    fs.writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
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
