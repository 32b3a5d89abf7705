// argon2id with OWASP's minimum parameters (19 MiB, 2 passes): about 50 ms here.
import argon2 from 'argon2';

const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Verified against when an email is unknown, so both paths cost the same. */
let dummyHash: Promise<string> | undefined;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

export async function verifyPassword(hash: string | undefined, password: string): Promise<boolean> {
  if (hash === undefined) {
    await argon2.verify(await (dummyHash ??= hashPassword('not-a-password')), password);
    return false;
  }
  return argon2.verify(hash, password);
}
