// Bank details at rest: sealed with AES-256-GCM under the current key, opened
// under any key of the ring, bound to their withdrawal, never shown whole.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  ibanIsValid,
  maskBankAccount,
  normalizeIban,
  openBankAccount,
  parseKeyring,
  sealBankAccount,
} from '../../withdrawals/bank-details';

const key = () => randomBytes(32).toString('base64');
const ACCOUNT = { holderName: 'Ada Teacher', iban: 'DE89370400440532013000', bankName: 'Test Bank' };

describe('bank details at rest', () => {
  it('when sealed and opened with the same ring, then the account comes back and the sealed text does not contain it', () => {
    const ring = parseKeyring(key());
    const sealed = sealBankAccount(ring, ACCOUNT, 'w-1');
    assert.equal(sealed.keyId, ring.current.id);
    assert.doesNotMatch(sealed.sealed, /0532|Ada/);
    assert.deepEqual(openBankAccount(ring, sealed, 'w-1'), ACCOUNT);
  });

  it('when sealed twice, then the two sealed values differ (a fresh IV each time)', () => {
    const ring = parseKeyring(key());
    assert.notEqual(
      sealBankAccount(ring, ACCOUNT, 'w-1').sealed,
      sealBankAccount(ring, ACCOUNT, 'w-1').sealed,
    );
  });

  it('when a new key is put first, then values sealed under the old one still open and new ones use the new key', () => {
    const oldKey = key();
    const before = parseKeyring(oldKey);
    const sealedBefore = sealBankAccount(before, ACCOUNT, 'w-1');
    const rotated = parseKeyring(`${key()}, ${oldKey}`);
    assert.deepEqual(openBankAccount(rotated, sealedBefore, 'w-1'), ACCOUNT);
    const sealedAfter = sealBankAccount(rotated, ACCOUNT, 'w-2');
    assert.notEqual(sealedAfter.keyId, sealedBefore.keyId);
    assert.throws(() => openBankAccount(before, sealedAfter, 'w-2'), /does not hold/);
  });

  it('when a sealed value is tampered with or moved to another withdrawal, then opening it fails', () => {
    const ring = parseKeyring(key());
    const sealed = sealBankAccount(ring, ACCOUNT, 'w-1');
    assert.throws(() => openBankAccount(ring, sealed, 'w-2'));
    const parts = sealed.sealed.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    parts[3] = flipped.toString('base64url');
    assert.throws(() => openBankAccount(ring, { ...sealed, sealed: parts.join('.') }, 'w-1'));
  });

  it('when DATA_ENCRYPTION_KEY holds something that is not a 32-byte key, then parsing says so without showing it', () => {
    assert.throws(() => parseKeyring(''), /no key/);
    assert.throws(
      () => parseKeyring('c2hvcnQ='),
      (error: Error) => /32 bytes/.test(error.message) && !error.message.includes('c2hvcnQ'),
    );
  });

  it('when masked, then only the holder, the bank and the last 4 remain', () => {
    assert.deepEqual(maskBankAccount(ACCOUNT), {
      holderName: 'Ada Teacher',
      bankName: 'Test Bank',
      last4: '3000',
    });
    assert.deepEqual(maskBankAccount({ holderName: 'B', accountNumber: '000123456789' }), {
      holderName: 'B',
      bankName: null,
      last4: '6789',
    });
  });

  it('when IBANs are checked, then the ISO 13616 check digits decide', () => {
    assert.ok(ibanIsValid(normalizeIban('de89 3704 0044 0532 0130 00')));
    assert.ok(ibanIsValid('GB29NWBK60161331926819'));
    assert.ok(!ibanIsValid('GB29NWBK60161331926818'));
    assert.ok(!ibanIsValid('not an iban'));
  });
});
