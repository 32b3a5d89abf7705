// Bank details at rest: sealed with AES-256-GCM (Node's crypto) under the
// current data key, with the key's id stored beside the value, so a new key can
// be put first while values sealed under older ones still open. The withdrawal
// id is the additional authenticated data: a sealed value copied onto another
// row does not open there. Outside this module only the masked form (holder,
// bank, last 4) is ever shown.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface BankAccount {
  holderName: string;
  iban?: string | undefined;
  accountNumber?: string | undefined;
  routingNumber?: string | undefined;
  bankName?: string | undefined;
}

/** What responses, logs and notifications may show of a bank account. */
export interface MaskedBankAccount {
  holderName: string;
  bankName: string | null;
  /** Last 4 characters of the IBAN or account number. */
  last4: string;
}

export interface DataKey {
  /** A fingerprint of the key (never the key): stored beside each sealed value. */
  id: string;
  key: Buffer;
}

/** The keys of DATA_ENCRYPTION_KEY: the first seals, every one opens. */
export interface DataKeyring {
  current: DataKey;
  byId: ReadonlyMap<string, DataKey>;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';

/** A key's id: the start of its SHA-256, so the same key has the same id everywhere. */
export function dataKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Parses `DATA_ENCRYPTION_KEY`: base64 (or base64url) 32-byte keys separated
 * by commas, the current key first. Throws a message that never shows a key.
 */
export function parseKeyring(value: string): DataKeyring {
  const keys = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part, index) => {
      const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(part) ? Buffer.from(part, 'base64') : Buffer.alloc(0);
      if (key.length !== KEY_BYTES) {
        throw new Error(
          `key ${index + 1} is not ${KEY_BYTES} bytes of base64 (make one with: openssl rand -base64 32)`,
        );
      }
      return { id: dataKeyId(key), key };
    });
  if (keys.length === 0) throw new Error('no key given');
  return { current: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}

export function randomKeyring(): DataKeyring {
  const key = randomBytes(KEY_BYTES);
  const current = { id: dataKeyId(key), key };
  return { current, byId: new Map([[current.id, current]]) };
}

export interface SealedValue {
  keyId: string;
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url. */
  sealed: string;
}

export function sealBankAccount(keyring: DataKeyring, account: BankAccount, boundTo: string): SealedValue {
  const { id, key } = keyring.current;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(account), 'utf8'), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
  return { keyId: id, sealed: [FORMAT, ...parts].join('.') };
}

/** Opens a sealed value; a missing key or a tampered value throws (never a wrong answer). */
export function openBankAccount(keyring: DataKeyring, value: SealedValue, boundTo: string): BankAccount {
  const dataKey = keyring.byId.get(value.keyId);
  if (dataKey === undefined) {
    throw new Error(`bank details sealed under key ${value.keyId}, which DATA_ENCRYPTION_KEY does not hold`);
  }
  const [format, iv, tag, ciphertext] = value.sealed.split('.');
  assert(format === FORMAT && iv !== undefined && tag !== undefined && ciphertext !== undefined);
  const decipher = createDecipheriv('aes-256-gcm', dataKey.key, Buffer.from(iv, 'base64url'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(Buffer.from(boundTo, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as BankAccount;
}

export function maskBankAccount(account: BankAccount): MaskedBankAccount {
  const number = account.iban ?? account.accountNumber;
  assert(number !== undefined && number.length >= 4, 'a bank account has an IBAN or an account number');
  return { holderName: account.holderName, bankName: account.bankName ?? null, last4: number.slice(-4) };
}

/** An IBAN without spaces, upper case; valid when its ISO 13616 mod-97 check holds. */
export function normalizeIban(iban: string): string {
  return iban.replace(/\s+/g, '').toUpperCase();
}

export function ibanIsValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const digits = /\d/.test(char) ? char : String(char.charCodeAt(0) - 55);
    for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}
