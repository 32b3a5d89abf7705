// The ledger's rules, as a pure function: given what the database holds for
// the accounts and transfers a batch touches (read under locks, see store.ts),
// apply chains of transfers in order and answer what to write. Each chain is
// all-or-nothing and gets its own result; later chains see earlier ones.
//
// Semantics (after TigerBeetle):
// - `posted` moves money at once; `pending` reserves it (pending counters);
//   `post_pending` posts all or part of a pending transfer and releases the
//   rest; `void_pending` releases all of it. A pending transfer is resolved
//   at most once.
// - The transfer id is the idempotency key: a chain whose transfers all exist
//   with the same fields answers `exists` and changes nothing; the same id
//   with other fields, or a chain only partly present, is refused.
// - A limited account never lets its debits (pending included) exceed its
//   credits (or the reverse); checked after every transfer of the chain.
// Input only a bug can produce fails an assertion: a crash, not a result.
import assert from 'node:assert/strict';
import {
  TRANSFER_CODE_KINDS,
  type ChainResult,
  type RefusalReason,
  type TransferKind,
  type TransferSpec,
} from './types';

export interface AccountInfo {
  id: string;
  currency: string;
  shards: number;
  debitsMustNotExceedCredits: boolean;
  creditsMustNotExceedDebits: boolean;
}

export interface Counters {
  debitsPending: number;
  debitsPosted: number;
  creditsPending: number;
  creditsPosted: number;
}

/** The fields of a transfer that make it what it is (compared on a retry). */
interface TransferFields {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: number;
  kind: TransferKind;
  pendingId: string | null;
  code: string;
  referenceType: string | null;
  referenceId: string | null;
  description: string | null;
}

/** A transfer as stored, with how its hold was resolved (if it is a pending transfer). */
export interface StoredTransfer extends TransferFields {
  resolution: 'post_pending' | 'void_pending' | null;
}

export interface BatchInput {
  /** Every account the batch may touch that exists. */
  accounts: ReadonlyMap<string, AccountInfo>;
  /** Current counters of the single-shard accounts (read under a row lock). */
  balances: ReadonlyMap<string, Counters>;
  /** Stored transfers named by the batch: its own ids and the pending ids it resolves. */
  transfers: ReadonlyMap<string, StoredTransfer>;
}

/** A transfer to insert. */
export interface TransferRow extends TransferFields {
  /** Balance (credits posted - debits posted - debits pending) after this transfer; single-shard accounts only. */
  debitBalanceAfter: number | null;
  creditBalanceAfter: number | null;
}

export interface BatchOutcome {
  results: ChainResult[];
  rows: TransferRow[];
  /** New counters of the single-shard accounts that changed. */
  balances: Map<string, Counters>;
  /** Counter deltas of sharded accounts, by balance row. */
  shardDeltas: Map<string, { accountId: string; shard: number; delta: Counters }>;
}

export const MAX_CHAIN_LENGTH = 64;
const MAX_DESCRIPTION_LENGTH = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const zero = (): Counters => ({ debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: 0 });

/**
 * The balance row a transfer writes on a sharded account: the one its id (or
 * its pending transfer's id) hashes to, so that a post or void releases the
 * pending amount from the very row that holds it. Must agree with the SQL
 * function ledger_shard_of (the audit uses that one).
 */
export function shardOf(transferId: string, shards: number): number {
  if (shards === 1) return 0;
  return Number.parseInt(transferId.slice(0, 8), 16) % shards;
}

export function assertWellFormed(chain: readonly TransferSpec[]): void {
  assert(
    chain.length >= 1 && chain.length <= MAX_CHAIN_LENGTH,
    `a chain holds 1..${MAX_CHAIN_LENGTH} transfers`,
  );
  const ids = new Set<string>();
  for (const t of chain) {
    assert(UUID.test(t.id), `transfer id must be a lowercase UUID: ${t.id}`);
    assert(!ids.has(t.id), `a chain names transfer ${t.id} twice`);
    ids.add(t.id);
    switch (t.kind) {
      case 'posted':
      case 'pending':
        assert(
          UUID.test(t.debitAccountId) && UUID.test(t.creditAccountId),
          'account ids must be lowercase UUIDs',
        );
        assert(t.debitAccountId !== t.creditAccountId, 'a transfer needs two different accounts');
        assertPositiveAmount(t.amount);
        break;
      case 'post_pending':
        assert(UUID.test(t.pendingId), 'pendingId must be a lowercase UUID');
        if (t.amount !== undefined) assertPositiveAmount(t.amount);
        break;
      case 'void_pending':
        assert(UUID.test(t.pendingId), 'pendingId must be a lowercase UUID');
        break;
      default:
        assert.fail(`unknown transfer kind ${(t as { kind: string }).kind}`);
    }
    assert(
      (TRANSFER_CODE_KINDS as Record<string, TransferKind | undefined>)[t.code] === t.kind,
      `code ${t.code} is not for ${t.kind} transfers`,
    );
    if (t.reference !== undefined) assert(UUID.test(t.reference.id), 'reference id must be a lowercase UUID');
    if (t.description !== undefined)
      assert(t.description.length <= MAX_DESCRIPTION_LENGTH, 'description too long');
  }
  const resolved = chain.flatMap((t) =>
    t.kind === 'post_pending' || t.kind === 'void_pending' ? [t.pendingId] : [],
  );
  assert(new Set(resolved).size === resolved.length, 'a chain resolves one pending transfer twice');
}

function assertPositiveAmount(amount: number): void {
  assert(
    Number.isSafeInteger(amount) && amount > 0,
    `amount must be a positive integer of minor units: ${amount}`,
  );
}

export function applyBatch(input: BatchInput, chains: readonly (readonly TransferSpec[])[]): BatchOutcome {
  return new Batch(input).run(chains);
}

class Batch {
  private readonly results: ChainResult[] = [];
  private readonly rows: TransferRow[] = [];
  private readonly balances = new Map<string, Counters>();
  private readonly shardDeltas = new Map<string, { accountId: string; shard: number; delta: Counters }>();
  /** Transfers created by earlier chains of this batch, and holds they resolved. */
  private readonly created = new Map<string, StoredTransfer>();

  constructor(private readonly input: BatchInput) {}

  run(chains: readonly (readonly TransferSpec[])[]): BatchOutcome {
    for (const chain of chains) {
      assertWellFormed(chain);
      this.results.push(this.applyChain(chain));
    }
    return { results: this.results, rows: this.rows, balances: this.balances, shardDeltas: this.shardDeltas };
  }

  private lookup(id: string): StoredTransfer | undefined {
    return this.created.get(id) ?? this.input.transfers.get(id);
  }

  private counters(account: AccountInfo): Counters {
    const current = this.balances.get(account.id) ?? this.input.balances.get(account.id);
    assert(current !== undefined, `no locked balance for single-shard account ${account.id}`);
    return current;
  }

  private applyChain(chain: readonly TransferSpec[]): ChainResult {
    const existing = chain.map((t) => this.lookup(t.id));
    if (existing.some((e) => e !== undefined)) return this.compareWithExisting(chain, existing);

    // Work on copies; they replace the batch state only if the whole chain applies.
    const scratch = new Map<string, Counters>();
    const scratchDeltas = new Map<string, { accountId: string; shard: number; delta: Counters }>();
    const chainCreated = new Map<string, StoredTransfer>();
    const chainRows: TransferRow[] = [];
    const refuse = (reason: RefusalReason, index: number): ChainResult => ({
      status: 'refused',
      reason,
      index,
    });

    for (const [index, t] of chain.entries()) {
      let debitAccountId: string;
      let creditAccountId: string;
      let amount: number;
      let pendingAmount = 0;
      if (t.kind === 'post_pending' || t.kind === 'void_pending') {
        const pending = chainCreated.get(t.pendingId) ?? this.lookup(t.pendingId);
        if (pending === undefined) return refuse('pending_transfer_not_found', index);
        if (pending.kind !== 'pending') return refuse('pending_transfer_not_pending', index);
        if (pending.resolution === 'post_pending') return refuse('pending_transfer_already_posted', index);
        if (pending.resolution === 'void_pending') return refuse('pending_transfer_already_voided', index);
        debitAccountId = pending.debitAccountId;
        creditAccountId = pending.creditAccountId;
        pendingAmount = pending.amount;
        amount = t.kind === 'void_pending' ? pending.amount : (t.amount ?? pending.amount);
        if (amount > pending.amount) return refuse('exceeds_pending_transfer_amount', index);
      } else {
        debitAccountId = t.debitAccountId;
        creditAccountId = t.creditAccountId;
        amount = t.amount;
      }

      const debit = this.input.accounts.get(debitAccountId);
      if (debit === undefined) return refuse('debit_account_not_found', index);
      const credit = this.input.accounts.get(creditAccountId);
      if (credit === undefined) return refuse('credit_account_not_found', index);
      if (debit.currency !== credit.currency) return refuse('accounts_have_different_currencies', index);

      const shardKey = t.kind === 'post_pending' || t.kind === 'void_pending' ? t.pendingId : t.id;
      const side = (account: AccountInfo): Counters => {
        if (account.shards === 1) {
          let c = scratch.get(account.id);
          if (c === undefined) scratch.set(account.id, (c = { ...this.counters(account) }));
          return c;
        }
        const shard = shardOf(shardKey, account.shards);
        const key = `${account.id}:${shard}`;
        let entry = scratchDeltas.get(key);
        if (entry === undefined) {
          const committed = this.shardDeltas.get(key);
          entry = { accountId: account.id, shard, delta: committed ? { ...committed.delta } : zero() };
          scratchDeltas.set(key, entry);
        }
        return entry.delta;
      };
      const d = side(debit);
      const c = side(credit);
      switch (t.kind) {
        case 'posted':
          d.debitsPosted += amount;
          c.creditsPosted += amount;
          break;
        case 'pending':
          d.debitsPending += amount;
          c.creditsPending += amount;
          break;
        case 'post_pending':
          d.debitsPending -= pendingAmount;
          d.debitsPosted += amount;
          c.creditsPending -= pendingAmount;
          c.creditsPosted += amount;
          break;
        case 'void_pending':
          d.debitsPending -= pendingAmount;
          c.creditsPending -= pendingAmount;
          break;
      }
      // Counters are JS numbers: past 2^53 they would silently round.
      assertSafeCounters(d);
      assertSafeCounters(c);
      if (debit.debitsMustNotExceedCredits && d.debitsPending + d.debitsPosted > d.creditsPosted) {
        return refuse('exceeds_credits', index);
      }
      if (credit.creditsMustNotExceedDebits && c.creditsPending + c.creditsPosted > c.debitsPosted) {
        return refuse('exceeds_debits', index);
      }

      const pendingId = t.kind === 'post_pending' || t.kind === 'void_pending' ? t.pendingId : null;
      const stored: StoredTransfer = {
        id: t.id,
        debitAccountId,
        creditAccountId,
        amount,
        kind: t.kind,
        pendingId,
        code: t.code,
        referenceType: t.reference?.type ?? null,
        referenceId: t.reference?.id ?? null,
        description: t.description ?? null,
        resolution: null,
      };
      chainCreated.set(t.id, stored);
      if (pendingId !== null) {
        const pending = chainCreated.get(pendingId) ?? this.lookup(pendingId)!;
        chainCreated.set(pendingId, { ...pending, resolution: t.kind as 'post_pending' | 'void_pending' });
      }
      chainRows.push({
        ...stored,
        debitBalanceAfter: debit.shards === 1 ? balanceOf(d) : null,
        creditBalanceAfter: credit.shards === 1 ? balanceOf(c) : null,
      });
    }

    for (const [id, counters] of scratch) this.balances.set(id, counters);
    for (const [key, entry] of scratchDeltas) this.shardDeltas.set(key, entry);
    for (const [id, transfer] of chainCreated) this.created.set(id, transfer);
    this.rows.push(...chainRows);
    return { status: 'created' };
  }

  private compareWithExisting(
    chain: readonly TransferSpec[],
    existing: (StoredTransfer | undefined)[],
  ): ChainResult {
    for (const [index, t] of chain.entries()) {
      const stored = existing[index];
      if (stored === undefined) return { status: 'refused', reason: 'linked_chain_partially_exists', index };
      if (!this.sameFields(t, stored))
        return { status: 'refused', reason: 'exists_with_different_fields', index };
    }
    return { status: 'exists' };
  }

  /** A retry may leave the accounts and amount of a post or void to its pending transfer. */
  private sameFields(t: TransferSpec, stored: StoredTransfer): boolean {
    if (t.kind !== stored.kind || t.code !== stored.code) return false;
    if (
      (t.reference?.type ?? null) !== stored.referenceType ||
      (t.reference?.id ?? null) !== stored.referenceId
    ) {
      return false;
    }
    if ((t.description ?? null) !== stored.description) return false;
    switch (t.kind) {
      case 'posted':
      case 'pending':
        return (
          t.debitAccountId === stored.debitAccountId &&
          t.creditAccountId === stored.creditAccountId &&
          t.amount === stored.amount
        );
      case 'post_pending':
        if (t.pendingId !== stored.pendingId) return false;
        return t.amount === undefined
          ? stored.amount === this.lookup(t.pendingId)?.amount
          : t.amount === stored.amount;
      case 'void_pending':
        return t.pendingId === stored.pendingId;
    }
  }
}

function assertSafeCounters(c: Counters): void {
  for (const value of [c.debitsPending, c.debitsPosted, c.creditsPending, c.creditsPosted]) {
    assert(Number.isSafeInteger(value), 'ledger counters beyond the safe integer range');
  }
}

function balanceOf(c: Counters): number {
  return c.creditsPosted - c.debitsPosted - c.debitsPending;
}
