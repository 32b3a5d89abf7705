// Opaque tokens handed to workers and clients (task tokens, history page tokens). They
// are JSON inside, so a restarted server still understands tokens it issued; anything
// that does not parse is INVALID_ARGUMENT, and a well-formed token for a task that no
// longer exists is NOT_FOUND, as with the real server.
import { invalidArgument } from '../rpc/errors';

export interface WftToken {
  k: 'w';
  ns: string;
  wid: string;
  rid: string;
  seq: number;
}
export interface ActToken {
  k: 'a';
  ns: string;
  wid: string;
  rid: string;
  sid: number;
  att: number;
}
export interface QueryToken {
  k: 'q';
  id: string;
}
export interface HistoryPageToken {
  k: 'h';
  /** next event id to return */
  from: number;
  /** last event id to return (0 = up to the end) */
  to: number;
  /** the workflow task (seq) whose transient events end the last page, if any */
  tseq: number;
}

export type Token = WftToken | ActToken | QueryToken | HistoryPageToken;

export function encodeToken(t: Token): Buffer {
  return Buffer.from(JSON.stringify(t));
}

export function decodeToken<K extends Token['k']>(
  buf: Uint8Array | null | undefined,
  kind: K,
  what = 'task token',
): Extract<Token, { k: K }> {
  if (!buf || buf.length === 0) throw invalidArgument(`${what} is not set on request.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(buf).toString('utf8'));
  } catch {
    throw invalidArgument(`invalid ${what}`);
  }
  if (!parsed || typeof parsed !== 'object' || (parsed as { k?: unknown }).k !== kind) {
    throw invalidArgument(`invalid ${what}`);
  }
  return parsed as Extract<Token, { k: K }>;
}
