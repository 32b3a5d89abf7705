// Property: random deposits, holds, posts (full and partial), voids, transfers
// between wallets and retries (same and different fields) across several
// wallets leave the ledger exactly where a simple in-memory model says, and
// the audit passes after every step.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Db } from '../../db/knex';
import { getBalances, ownerView } from '../../ledger/accounts';
import { auditLedger, formatAuditReport } from '../../ledger/audit';
import { auditLedgerIncrementally } from '../../ledger/incremental-audit';
import { LedgerBatcher } from '../../ledger/batcher';
import { createTransfers } from '../../ledger/transfers';
import type { ChainResult, TransferSpec } from '../../ledger/types';
import { testDb } from '../support/db';
import { escrowAccount, externalAccount, fundedWallet } from '../support/fixtures';

const WALLETS = 4;

type Op =
  | { op: 'deposit'; wallet: number; amount: number }
  | { op: 'hold'; wallet: number; amount: number }
  | { op: 'post'; hold: number; amount: number | undefined }
  | { op: 'void'; hold: number }
  | { op: 'pay'; from: number; to: number; amount: number }
  | { op: 'retry'; step: number; changeAmount: boolean };

const amount = fc.integer({ min: 1, max: 120 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('deposit' as const), wallet: fc.nat(WALLETS - 1), amount }),
  fc.record({ op: fc.constant('hold' as const), wallet: fc.nat(WALLETS - 1), amount }),
  fc.record({
    op: fc.constant('post' as const),
    hold: fc.nat(),
    amount: fc.option(amount, { nil: undefined }),
  }),
  fc.record({ op: fc.constant('void' as const), hold: fc.nat() }),
  fc.record({ op: fc.constant('pay' as const), from: fc.nat(WALLETS - 1), to: fc.nat(WALLETS - 1), amount }),
  fc.record({ op: fc.constant('retry' as const), step: fc.nat(), changeAmount: fc.boolean() }),
);

interface ModelHold {
  id: string;
  wallet: number;
  amount: number;
  state: 'pending' | 'posted' | 'voided';
}

/** The in-memory model: what each wallet's counters must be. */
class Model {
  readonly posted = Array<number>(WALLETS).fill(0);
  readonly held = Array<number>(WALLETS).fill(0);
  readonly holds: ModelHold[] = [];
  /** Applied chains by first transfer id, for retries. */
  readonly applied: { spec: TransferSpec[]; result: ChainResult }[] = [];

  available(w: number): number {
    return this.posted[w]! - this.held[w]!;
  }
}

async function assertIncrementalRoundPasses(db: Db): Promise<void> {
  const report = await auditLedgerIncrementally(db);
  assert.ok(report.ok, formatAuditReport(report));
}

describe('ledger model property', () => {
  let db: Db;
  before(async () => {
    db = await testDb();
  });

  for (const path of ['one transaction per chain', 'the batcher'] as const) {
    it(`when random operations run through ${path}, then every balance equals the model and the audit passes after every step`, async () => {
      const batcher = new LedgerBatcher(db);
      const submit = (chain: TransferSpec[]) =>
        path === 'the batcher' ? batcher.submit(chain) : createTransfers(db, chain);
      let stepsChecked = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 40, size: 'large' }), async (ops) => {
          const wallets: string[] = [];
          for (let i = 0; i < WALLETS; i++) wallets.push(await fundedWallet(db, 0));
          const model = new Model();
          let checkedSteps = 0;

          for (const op of ops) {
            const { spec, expected } = plan(op, model, wallets);
            if (spec === undefined) continue;
            const actual = await submit(spec);
            assert.deepEqual(actual, expected, `op ${JSON.stringify(op)}`);

            const balances = await getBalances(db, wallets);
            balances.forEach((b, w) => {
              const view = ownerView(b);
              assert.equal(view.total, model.posted[w], `wallet ${w} total after ${JSON.stringify(op)}`);
              assert.equal(view.held, model.held[w], `wallet ${w} held after ${JSON.stringify(op)}`);
            });
            const report = await auditLedger(db);
            assert.ok(report.ok, formatAuditReport(report));
            checkedSteps++;
            // The incremental audit over every few steps' transfers (each round a checkpoint).
            if (checkedSteps % 4 === 0) await assertIncrementalRoundPasses(db);
          }
          await assertIncrementalRoundPasses(db);
          stepsChecked += checkedSteps;
        }),
        { numRuns: 30 },
      );
      // Guard against a generator that makes most operations no-ops.
      assert.ok(stepsChecked >= 300, `only ${stepsChecked} steps exercised`);
      // Thirty runs of database round trips: well past the default on a machine whose cores are busy.
    }).timeout(180_000);
  }
});

/** What the op submits and what the model says must come back; applies the op to the model. */
function plan(op: Op, model: Model, wallets: string[]): { spec?: TransferSpec[]; expected?: ChainResult } {
  const created = (spec: TransferSpec[], apply: () => void) => {
    apply();
    const expected: ChainResult = { status: 'created' };
    model.applied.push({ spec, result: expected });
    return { spec, expected };
  };
  const refused = (spec: TransferSpec[], reason: Extract<ChainResult, { status: 'refused' }>['reason']) => ({
    spec,
    expected: { status: 'refused', reason, index: 0 } as ChainResult,
  });

  switch (op.op) {
    case 'deposit': {
      const spec: TransferSpec[] = [
        {
          id: randomUUID(),
          kind: 'posted',
          debitAccountId: externalAccount(),
          creditAccountId: wallets[op.wallet]!,
          amount: op.amount,
          code: 'deposit',
        },
      ];
      return created(spec, () => (model.posted[op.wallet]! += op.amount));
    }
    case 'hold': {
      const id = randomUUID();
      const spec: TransferSpec[] = [
        {
          id,
          kind: 'pending',
          debitAccountId: wallets[op.wallet]!,
          creditAccountId: escrowAccount(),
          amount: op.amount,
          code: 'booking_hold',
        },
      ];
      if (model.available(op.wallet) < op.amount) return refused(spec, 'exceeds_credits');
      return created(spec, () => {
        model.held[op.wallet]! += op.amount;
        model.holds.push({ id, wallet: op.wallet, amount: op.amount, state: 'pending' });
      });
    }
    case 'post':
    case 'void': {
      const hold = model.holds[op.hold % Math.max(1, model.holds.length)];
      if (hold === undefined) return {};
      const spec: TransferSpec[] = [
        op.op === 'post'
          ? {
              id: randomUUID(),
              kind: 'post_pending',
              pendingId: hold.id,
              amount: op.amount,
              code: 'booking_charge',
            }
          : { id: randomUUID(), kind: 'void_pending', pendingId: hold.id, code: 'booking_refund' },
      ];
      if (hold.state === 'posted') return refused(spec, 'pending_transfer_already_posted');
      if (hold.state === 'voided') return refused(spec, 'pending_transfer_already_voided');
      if (op.op === 'post' && op.amount !== undefined && op.amount > hold.amount) {
        return refused(spec, 'exceeds_pending_transfer_amount');
      }
      return created(spec, () => {
        model.held[hold.wallet]! -= hold.amount;
        if (op.op === 'post') {
          model.posted[hold.wallet]! -= op.amount ?? hold.amount;
          hold.state = 'posted';
        } else {
          hold.state = 'voided';
        }
      });
    }
    case 'pay': {
      if (op.from === op.to) return {};
      const spec: TransferSpec[] = [
        {
          id: randomUUID(),
          kind: 'posted',
          debitAccountId: wallets[op.from]!,
          creditAccountId: wallets[op.to]!,
          amount: op.amount,
          code: 'deposit',
        },
      ];
      if (model.available(op.from) < op.amount) return refused(spec, 'exceeds_credits');
      return created(spec, () => {
        model.posted[op.from]! -= op.amount;
        model.posted[op.to]! += op.amount;
      });
    }
    case 'retry': {
      const previous = model.applied[op.step % Math.max(1, model.applied.length)];
      if (previous === undefined) return {};
      const original = previous.spec[0]!;
      if (!op.changeAmount || original.kind === 'void_pending') {
        return { spec: previous.spec, expected: { status: 'exists' } };
      }
      const storedAmount =
        original.kind === 'post_pending'
          ? (original.amount ?? model.holds.find((h) => h.id === original.pendingId)!.amount)
          : original.amount;
      const changed = { ...original, amount: storedAmount + 1 } as TransferSpec;
      return refused([changed], 'exists_with_different_fields');
    }
  }
}
