// Group commit for the ledger. Each transaction costs a commit (a WAL flush),
// a handful of round trips and per-statement work, whatever it writes; a
// transfer alone costs more than the raw single-row update the benchmark
// calls the floor. So, as TigerBeetle does, concurrent requests are gathered
// into one batch and applied in one transaction, each chain still all or
// nothing with its own result. No timer: a batch leaves as soon as a
// connection is free, so a lone request waits for nothing, and requests that
// arrive while batches are in flight ride the next one.
//
// Use it for money that moves on its own (deposits, holds, settlements).
// Use createTransfers(trx, ...) instead when the transfer must commit
// atomically with other rows in the caller's transaction.
import assert from 'node:assert/strict';
import type { Db } from '../db/knex';
import { assertWellFormed } from './engine';
import { applyChains, MAX_CHAINS_PER_BATCH, WriteConflict, type ApplyMode } from './transfers';
import type { ChainResult, TransferSpec } from './types';

export interface LedgerBatcherOptions {
  /**
   * Batches in flight at once, each on its own connection (default 1: one
   * writer makes the largest batches; measured by npm run bench:ledger).
   */
  maxConcurrentBatches?: number;
  /** Chains per batch (default and maximum MAX_CHAINS_PER_BATCH). */
  maxChainsPerBatch?: number;
  /** Requests waiting beyond this are refused at once (back-pressure, default 10,000). */
  maxQueued?: number;
}

interface Waiting {
  chain: readonly TransferSpec[];
  resolve: (result: ChainResult) => void;
  reject: (error: unknown) => void;
}

/** Postgres errors after which the same batch may simply run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 3;

export class LedgerBatcher {
  private readonly queue: Waiting[] = [];
  private readonly idle: (() => void)[] = [];
  /** Counters for metrics and benchmarks. */
  readonly stats = { batches: 0, chains: 0, lockedReruns: 0, busyMs: 0 };
  private inFlight = 0;
  private readonly maxConcurrent: number;
  private readonly maxChains: number;
  private readonly maxQueued: number;

  constructor(
    private readonly db: Db,
    options: LedgerBatcherOptions = {},
  ) {
    this.maxConcurrent = options.maxConcurrentBatches ?? 1;
    this.maxChains = options.maxChainsPerBatch ?? MAX_CHAINS_PER_BATCH;
    this.maxQueued = options.maxQueued ?? 10_000;
    assert(this.maxConcurrent >= 1 && this.maxChains >= 1 && this.maxChains <= MAX_CHAINS_PER_BATCH);
  }

  /** Applies one chain, all or nothing, in some upcoming batch. */
  submit(chain: readonly TransferSpec[]): Promise<ChainResult> {
    // A malformed chain is the caller's bug; reject it here, not with its batch.
    assertWellFormed(chain);
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(new Error(`ledger queue is full (${this.maxQueued} waiting)`));
    }
    return new Promise<ChainResult>((resolve, reject) => {
      this.queue.push({ chain, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or in flight (for shutdown). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxChains);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0)
          for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  /**
   * Optimistic first (see ApplyMode); after a write conflict (a duplicate
   * id, e.g. a retried request) or a refusal the batch runs again with locks,
   * which settles every chain exactly. Should a batch fail for any other
   * reason, its chains run one by one, so that one bad chain cannot sink the
   * others.
   */
  private async run(batch: Waiting[]): Promise<void> {
    const started = performance.now();
    this.stats.batches++;
    this.stats.chains += batch.length;
    try {
      await this.apply(batch);
    } finally {
      this.stats.busyMs += performance.now() - started;
    }
  }

  private async apply(batch: Waiting[]): Promise<void> {
    const chains = batch.map((w) => w.chain);
    let mode: ApplyMode = 'optimistic';
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await applyChains(this.db, chains, mode);
        batch.forEach((w, i) => w.resolve(results[i]!));
        return;
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isRetryable(error)) {
          this.stats.lockedReruns++;
          mode = 'locked';
          continue;
        }
        if (batch.length === 1) {
          batch[0]!.reject(error);
          return;
        }
        break;
      }
    }
    for (const waiting of batch) {
      try {
        const [result] = await applyChains(this.db, [waiting.chain], 'locked');
        waiting.resolve(result!);
      } catch (error) {
        waiting.reject(error);
      }
    }
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return error instanceof WriteConflict || (code !== undefined && RETRYABLE_SQLSTATES.has(code));
}
