import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex';
import { getBalance, ownerView } from '../../ledger/accounts';
import { auditLedger, formatAuditReport } from '../../ledger/audit';
import { LedgerBatcher } from '../../ledger/batcher';
import { createTransfers } from '../../ledger/transfers';
import type { ChainResult, NewTransfer, TransferSpec } from '../../ledger/types';
import { testDb } from '../support/db';
import { escrowAccount, fundedWallet } from '../support/fixtures';

function hold(walletId: string, amount: number, id: string = randomUUID()): NewTransfer {
  return {
    id,
    kind: 'pending',
    debitAccountId: walletId,
    creditAccountId: escrowAccount(),
    amount,
    code: 'booking_hold',
  };
}

async function assertAuditPasses(db: Db): Promise<void> {
  const report = await auditLedger(db);
  assert.ok(report.ok, formatAuditReport(report));
}

function tally(results: ChainResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.status === 'refused' ? r.reason : r.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('ledger transfers', () => {
  let db: Db;
  before(async () => {
    db = await testDb();
  });

  for (const path of ['one transaction per chain', 'the batcher'] as const) {
    describe(`through ${path}`, () => {
      let submit: (chain: TransferSpec[]) => Promise<ChainResult>;
      before(() => {
        const batcher = new LedgerBatcher(db);
        submit =
          path === 'the batcher' ? (chain) => batcher.submit(chain) : (chain) => createTransfers(db, chain);
      });

      it('when 200 holds of 10 race on a wallet holding 100, then exactly 10 succeed and the rest are refused for insufficient funds', async () => {
        const wallet = await fundedWallet(db, 100);

        const results = await Promise.all(Array.from({ length: 200 }, () => submit([hold(wallet, 10)])));

        assert.deepEqual(tally(results), { created: 10, exceeds_credits: 190 });
        assert.deepEqual(ownerView(await getBalance(db, wallet)), { available: 0, held: 100, total: 100 });
        await assertAuditPasses(db);
      });

      it('when one transfer is submitted 50 times concurrently, then it is applied once; resubmitted with another amount, it is refused and nothing moves', async () => {
        const wallet = await fundedWallet(db, 1_000);
        const id = randomUUID();

        const results = await Promise.all(Array.from({ length: 50 }, () => submit([hold(wallet, 70, id)])));
        assert.deepEqual(tally(results), { created: 1, exists: 49 });
        assert.equal(ownerView(await getBalance(db, wallet)).available, 930);

        const mismatch = await submit([hold(wallet, 71, id)]);
        assert.deepEqual(mismatch, { status: 'refused', reason: 'exists_with_different_fields', index: 0 });
        assert.equal(ownerView(await getBalance(db, wallet)).available, 930);
        await assertAuditPasses(db);
      });

      it('when a post and a void race for one pending transfer, then exactly one wins and the loser gets a typed refusal', async () => {
        const wallet = await fundedWallet(db, 20 * 50);
        for (let round = 0; round < 20; round++) {
          const pending = hold(wallet, 50);
          assert.equal((await submit([pending])).status, 'created');

          const [posted, voided] = await Promise.all([
            submit([
              { id: randomUUID(), kind: 'post_pending', pendingId: pending.id, code: 'booking_charge' },
            ]),
            submit([
              { id: randomUUID(), kind: 'void_pending', pendingId: pending.id, code: 'booking_refund' },
            ]),
          ]);

          const winners = [posted, voided].filter((r) => r.status === 'created');
          assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify([posted, voided])}`);
          const loser = posted.status === 'created' ? voided : posted;
          const expected =
            posted.status === 'created'
              ? 'pending_transfer_already_posted'
              : 'pending_transfer_already_voided';
          assert.deepEqual(loser, { status: 'refused', reason: expected, index: 0 });
        }
        const view = ownerView(await getBalance(db, wallet));
        assert.equal(view.held, 0);
        await assertAuditPasses(db);
      });
    });
  }

  it('when a hold is posted in part, then the part moves and the rest returns to the wallet', async () => {
    const wallet = await fundedWallet(db, 500);
    const pending = hold(wallet, 100);
    await createTransfers(db, [pending]);
    const escrowBefore = ownerView(await getBalance(db, escrowAccount())).total;

    const result = await createTransfers(db, [
      { id: randomUUID(), kind: 'post_pending', pendingId: pending.id, amount: 60, code: 'booking_charge' },
    ]);

    assert.equal(result.status, 'created');
    assert.deepEqual(ownerView(await getBalance(db, wallet)), { available: 440, held: 0, total: 440 });
    assert.equal(ownerView(await getBalance(db, escrowAccount())).total - escrowBefore, 60);
    await assertAuditPasses(db);
  });

  it('when a post asks for more than the hold, then it is refused and the hold stays pending', async () => {
    const wallet = await fundedWallet(db, 500);
    const pending = hold(wallet, 100);
    await createTransfers(db, [pending]);

    const result = await createTransfers(db, [
      { id: randomUUID(), kind: 'post_pending', pendingId: pending.id, amount: 101, code: 'booking_charge' },
    ]);

    assert.deepEqual(result, { status: 'refused', reason: 'exceeds_pending_transfer_amount', index: 0 });
    assert.deepEqual(ownerView(await getBalance(db, wallet)), { available: 400, held: 100, total: 500 });
  });

  it('when one transfer of a linked chain is refused, then none of the chain is applied', async () => {
    const rich = await fundedWallet(db, 100);
    const poor = await fundedWallet(db, 5);

    const result = await createTransfers(db, [hold(rich, 50), hold(poor, 10)]);

    assert.deepEqual(result, { status: 'refused', reason: 'exceeds_credits', index: 1 });
    assert.deepEqual(ownerView(await getBalance(db, rich)), { available: 100, held: 0, total: 100 });
    assert.deepEqual(ownerView(await getBalance(db, poor)), { available: 5, held: 0, total: 5 });
  });

  it('when a whole chain is submitted again, then it answers exists; when only part of it was applied before, then it is refused', async () => {
    const wallet = await fundedWallet(db, 100);
    const chain = [hold(wallet, 10), hold(wallet, 20)];
    assert.equal((await createTransfers(db, chain)).status, 'created');

    assert.deepEqual(await createTransfers(db, chain), { status: 'exists' });
    assert.deepEqual(await createTransfers(db, [chain[0]!, hold(wallet, 5)]), {
      status: 'refused',
      reason: 'linked_chain_partially_exists',
      index: 1,
    });
    assert.equal(ownerView(await getBalance(db, wallet)).available, 70);
  });

  it('when a transfer is resolved that is not pending, or does not exist, then it is refused', async () => {
    const wallet = await fundedWallet(db, 100);
    const single: TransferSpec = {
      id: randomUUID(),
      kind: 'posted',
      debitAccountId: wallet,
      creditAccountId: escrowAccount(),
      amount: 10,
      code: 'platform_fee',
    };
    await createTransfers(db, [single]);

    assert.deepEqual(
      await createTransfers(db, [
        { id: randomUUID(), kind: 'void_pending', pendingId: single.id, code: 'booking_refund' },
      ]),
      { status: 'refused', reason: 'pending_transfer_not_pending', index: 0 },
    );
    assert.deepEqual(
      await createTransfers(db, [
        { id: randomUUID(), kind: 'void_pending', pendingId: randomUUID(), code: 'booking_refund' },
      ]),
      { status: 'refused', reason: 'pending_transfer_not_found', index: 0 },
    );
  });

  it('when a transfer names an unknown account, then it is refused', async () => {
    const wallet = await fundedWallet(db, 100);
    assert.deepEqual(await createTransfers(db, [{ ...hold(wallet, 1), creditAccountId: randomUUID() }]), {
      status: 'refused',
      reason: 'credit_account_not_found',
      index: 0,
    });
  });

  it('when anyone tries to change or delete a transfer, then the database refuses', async () => {
    const wallet = await fundedWallet(db, 100);
    const t = hold(wallet, 10);
    await createTransfers(db, [t]);

    await assert.rejects(db('ledger_transfers').where({ id: t.id }).update({ amount: 1 }), /append-only/);
    await assert.rejects(db('ledger_transfers').where({ id: t.id }).delete(), /append-only/);
    await assert.rejects(db.raw('truncate ledger_transfers cascade'), /append-only/);
  });

  it('when code bypasses the ledger function to overdraw a wallet, then the database refuses', async () => {
    const wallet = await fundedWallet(db, 100);
    await assert.rejects(
      db('ledger_balances').where({ account_id: wallet }).update({ debits_posted: 101 }),
      /ledger_balances_debits_limit/,
    );
  });

  it('when a chain is malformed, then it fails an assertion instead of answering', async () => {
    const wallet = await fundedWallet(db, 100);
    await assert.rejects(createTransfers(db, [hold(wallet, 0)]), /positive integer/);
    await assert.rejects(createTransfers(db, [hold(wallet, 1.5)]), /positive integer/);
    await assert.rejects(createTransfers(db, []), /chain holds/);
    await assert.rejects(createTransfers(db, [{ ...hold(wallet, 1), id: 'nope' }]), /UUID/);
    await assert.rejects(createTransfers(db, [{ ...hold(wallet, 1), code: 'deposit' }]), /not for pending/);
  });

  it('when two batchers and direct calls submit the same chains at once, then each chain is applied once and every caller gets created or exists', async () => {
    const wallet = await fundedWallet(db, 10_000);
    const first = new LedgerBatcher(db, { maxConcurrentBatches: 2 });
    const second = new LedgerBatcher(db, { maxConcurrentBatches: 2 });
    const holds = Array.from({ length: 20 }, () => [hold(wallet, 10)]);
    const submitters = [
      (c: TransferSpec[]) => first.submit(c),
      (c: TransferSpec[]) => second.submit(c),
      (c: TransferSpec[]) => createTransfers(db, c),
    ];

    const results = await Promise.all(holds.flatMap((chain) => submitters.map((submit) => submit(chain))));

    for (let i = 0; i < holds.length; i++) {
      const forChain = results
        .slice(i * 3, i * 3 + 3)
        .map((r) => r.status)
        .sort();
      assert.deepEqual(forChain, ['created', 'exists', 'exists'], `chain ${i}`);
    }
    assert.equal(ownerView(await getBalance(db, wallet)).held, 200);

    const resolutions = await Promise.all(
      holds.flatMap(([pending]) => [
        first.submit([
          { id: randomUUID(), kind: 'post_pending', pendingId: pending!.id, code: 'booking_charge' },
        ]),
        second.submit([
          { id: randomUUID(), kind: 'void_pending', pendingId: pending!.id, code: 'booking_refund' },
        ]),
        createTransfers(db, [
          { id: randomUUID(), kind: 'void_pending', pendingId: pending!.id, code: 'booking_refund' },
        ]),
      ]),
    );
    for (let i = 0; i < holds.length; i++) {
      const forHold = resolutions.slice(i * 3, i * 3 + 3);
      assert.equal(forHold.filter((r) => r.status === 'created').length, 1, JSON.stringify(forHold));
      for (const r of forHold.filter((r) => r.status !== 'created')) {
        assert.ok(
          r.status === 'refused' &&
            ['pending_transfer_already_posted', 'pending_transfer_already_voided'].includes(r.reason),
          JSON.stringify(r),
        );
      }
    }
    assert.equal(ownerView(await getBalance(db, wallet)).held, 0);
    await assertAuditPasses(db);
  });

  it('when one chain of a batch fails for a reason other than a refusal, then the other chains of the batch still apply', async () => {
    const healthy = await fundedWallet(db, 100);
    const broken = await fundedWallet(db, 100);
    const batcher = new LedgerBatcher(db);
    // A wallet whose balance row vanished: only a bug could do this, and its chain must fail loudly.
    const saved = await db('ledger_balances').where({ account_id: broken }).first();
    await db('ledger_balances').where({ account_id: broken }).delete();
    try {
      const warmUp = batcher.submit([hold(healthy, 1)]);
      const good = batcher.submit([hold(healthy, 2)]);
      const bad = batcher.submit([hold(broken, 2)]);
      assert.equal((await warmUp).status, 'created');
      assert.equal((await good).status, 'created');
      await assert.rejects(bad, /balance row is missing/);
    } finally {
      await db('ledger_balances').insert(saved);
    }
    assert.equal(ownerView(await getBalance(db, healthy)).held, 3);
  });

  it('when a hold this process remembers is resolved elsewhere, then the batcher still refuses a second resolution', async () => {
    const wallet = await fundedWallet(db, 100);
    const batcher = new LedgerBatcher(db);
    const pending = hold(wallet, 30);
    assert.equal((await batcher.submit([pending])).status, 'created');
    // Another process (here: a caller's own transaction, which the batcher's memory never sees) voids it.
    await db.transaction((trx) =>
      createTransfers(trx, [
        { id: randomUUID(), kind: 'void_pending', pendingId: pending.id, code: 'booking_refund' },
      ]),
    );

    const post = await batcher.submit([
      { id: randomUUID(), kind: 'post_pending', pendingId: pending.id, code: 'booking_charge' },
    ]);

    assert.deepEqual(post, { status: 'refused', reason: 'pending_transfer_already_voided', index: 0 });
    assert.deepEqual(ownerView(await getBalance(db, wallet)), { available: 100, held: 0, total: 100 });
    assert.equal(batcher.stats.lockedReruns, 1);
    await assertAuditPasses(db);
  });
});
