// Deterministic ids. A transfer id is the idempotency key of the money it
// moves, so callers derive it from what the transfer *is* ("the hold of
// booking X"): a retry then names the same transfer and cannot move money twice.
import { createHash } from 'node:crypto';

// Fixed namespace of this application (a random v4 UUID, generated once).
const NAMESPACE = Buffer.from('4f0d1f6a9c2b4e1d8a7b3c5e6f708192', 'hex');

/** RFC 4122 version-5 (name-based, SHA-1) UUID of the given name parts. */
export function nameUuid(...parts: string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u0000')).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
