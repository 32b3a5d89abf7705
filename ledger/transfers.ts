// Applying transfers. One call applies one chain all-or-nothing inside
// ledger_create_transfers() (one round trip, see the ledger migration), and
// answers a typed result for expected refusals. Input that can only come
// from a bug (a non-positive amount, a malformed id, an oversized chain)
// fails an assertion instead: that is a crash, not a result.
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import type { Conn } from '../db/knex';
import { isUuid } from './ids';
import type { ChainResult, RefusalReason, TransferSpec } from './types';

/** Upper bound of one chain; the SQL function enforces the same. */
export const MAX_CHAIN_LENGTH = 64;
const MAX_DESCRIPTION_LENGTH = 500;

const SUCCESS = new Set(['created', 'exists']);

export async function createTransfers(conn: Conn, chain: readonly TransferSpec[]): Promise<ChainResult> {
  assert(
    chain.length >= 1 && chain.length <= MAX_CHAIN_LENGTH,
    `a chain holds 1..${MAX_CHAIN_LENGTH} transfers`,
  );
  for (const t of chain) assertWellFormed(t);

  // node-pg serialises JS arrays (with nulls) into Postgres array literals.
  const column = (pick: (t: TransferSpec) => string | number | null): Knex.Value =>
    chain.map(pick) as Knex.Value;
  const bindings: readonly Knex.RawBinding[] = [
    column((t) => t.id),
    column((t) => (t.kind === 'posted' || t.kind === 'pending' ? t.debitAccountId : null)),
    column((t) => (t.kind === 'posted' || t.kind === 'pending' ? t.creditAccountId : null)),
    column((t) => (t.kind === 'void_pending' ? null : (t.amount ?? null))),
    column((t) => t.kind),
    column((t) => (t.kind === 'post_pending' || t.kind === 'void_pending' ? t.pendingId : null)),
    column((t) => t.code),
    column((t) => t.reference?.type ?? null),
    column((t) => t.reference?.id ?? null),
    column((t) => t.description ?? null),
  ];
  const { rows } = await conn.raw<{ rows: { result: string; failed_index: number | null }[] }>(
    `select result, failed_index from ledger_create_transfers(
       ?::uuid[], ?::uuid[], ?::uuid[], ?::bigint[], ?::text[], ?::uuid[], ?::text[], ?::text[], ?::uuid[], ?::text[])`,
    bindings,
  );

  const row = rows[0];
  assert(row !== undefined, 'ledger_create_transfers returned no row');
  if (SUCCESS.has(row.result)) return { status: row.result as 'created' | 'exists' };
  assert(row.failed_index !== null, `refusal ${row.result} without an index`);
  return { status: 'refused', reason: row.result as RefusalReason, index: row.failed_index - 1 };
}

function assertWellFormed(t: TransferSpec): void {
  assert(isUuid(t.id), `transfer id must be a UUID: ${t.id}`);
  switch (t.kind) {
    case 'posted':
    case 'pending':
      assert(isUuid(t.debitAccountId) && isUuid(t.creditAccountId), 'account ids must be UUIDs');
      assert(t.debitAccountId !== t.creditAccountId, 'a transfer needs two different accounts');
      assertPositiveAmount(t.amount);
      break;
    case 'post_pending':
      assert(isUuid(t.pendingId), 'pendingId must be a UUID');
      if (t.amount !== undefined) assertPositiveAmount(t.amount);
      break;
    case 'void_pending':
      assert(isUuid(t.pendingId), 'pendingId must be a UUID');
      break;
  }
  if (t.reference !== undefined) assert(isUuid(t.reference.id), 'reference id must be a UUID');
  if (t.description !== undefined)
    assert(t.description.length <= MAX_DESCRIPTION_LENGTH, 'description too long');
}

function assertPositiveAmount(amount: number): void {
  assert(
    Number.isSafeInteger(amount) && amount > 0,
    `amount must be a positive integer of minor units: ${amount}`,
  );
}

/** True when the chain is in the ledger (now or before). */
export function applied(result: ChainResult): boolean {
  return result.status !== 'refused';
}
