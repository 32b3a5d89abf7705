import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex';
import { auditLedger } from '../../ledger/audit';
import { TRANSFER_CODE_KINDS } from '../../ledger/types';
import { testDb } from '../support/db';
import { escrowAccount, fundedWallet } from '../support/fixtures';

/** Runs `breakIt` and the audit inside a transaction that is always rolled back. */
async function auditAfter(db: Db, breakIt: (trx: Db) => Promise<void>): Promise<string[]> {
  let failed: string[] = [];
  await db
    .transaction(async (trx) => {
      await breakIt(trx);
      const report = await auditLedger(trx);
      failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
      throw new Error('rollback');
    })
    .catch((error: Error) => assert.equal(error.message, 'rollback'));
  return failed;
}

describe('ledger audit', () => {
  let db: Db;
  before(async () => {
    db = await testDb();
  });

  it('when the ledger is consistent, then every check passes', async () => {
    await fundedWallet(db, 10);
    const report = await auditLedger(db);
    assert.ok(report.ok);
    assert.ok(report.checks.length >= 8);
  });

  it('when a balance counter is changed behind the ledger, then the audit names the broken invariants', async () => {
    const wallet = await fundedWallet(db, 100);
    const failed = await auditAfter(db, async (trx) => {
      await trx('ledger_balances').where({ account_id: wallet }).increment('credits_posted', 5);
    });
    assert.deepEqual(failed, [
      'total debits equal total credits (posted and pending separately)',
      'every account balance (each shard of it) equals the sum of its transfers',
    ]);
  });

  it('when a transfer is written around the ledger function, then the audit names the broken invariants', async () => {
    const wallet = await fundedWallet(db, 100);
    const failed = await auditAfter(db, async (trx) => {
      await trx('ledger_transfers').insert({
        id: randomUUID(),
        debit_account_id: wallet,
        credit_account_id: escrowAccount(),
        amount: 7,
        kind: 'posted',
        code: 'platform_fee',
        debit_balance_after: 12345,
      });
    });
    assert.deepEqual(failed, [
      'every account balance (each shard of it) equals the sum of its transfers',
      'recorded balance-after of single-shard accounts equals the running sum (statements are exact)',
    ]);
  });

  it('when a wallet went below zero in the middle of a transaction, then the audit says so though it ended positive', async () => {
    const wallet = await fundedWallet(db, 100);
    const failed = await auditAfter(db, async (trx) => {
      await trx('ledger_transfers').insert([
        {
          id: randomUUID(),
          debit_account_id: wallet,
          credit_account_id: escrowAccount(),
          amount: 150,
          kind: 'posted',
          code: 'platform_fee',
          debit_balance_after: -50,
        },
        {
          id: randomUUID(),
          debit_account_id: escrowAccount(),
          credit_account_id: wallet,
          amount: 100,
          kind: 'posted',
          code: 'deposit',
          credit_balance_after: 50,
        },
      ]);
      await trx('ledger_balances')
        .where({ account_id: wallet })
        .update({ debits_posted: 150, credits_posted: 200 });
    });
    assert.ok(
      failed.includes('no wallet or earnings account was ever overdrawn (every recorded balance-after >= 0)'),
      failed.join('\n'),
    );
  });

  it('when a transfer names an account that does not exist, then the audit says so', async () => {
    const wallet = await fundedWallet(db, 100);
    const failed = await auditAfter(db, async (trx) => {
      await trx('ledger_transfers').insert({
        id: randomUUID(),
        debit_account_id: wallet,
        credit_account_id: randomUUID(),
        amount: 1,
        kind: 'posted',
        code: 'platform_fee',
        debit_balance_after: 99,
      });
      await trx('ledger_balances').where({ account_id: wallet }).increment('debits_posted', 1);
    });
    assert.ok(
      failed.includes('every transfer names existing accounts, and every post or void an existing hold'),
      failed.join('\n'),
    );
  });

  it('when the code table and the code map of the engine are compared, then they agree', async () => {
    const rows = await db('ledger_transfer_codes').select('code', 'kind');
    assert.deepEqual(
      Object.fromEntries(rows.map((r: { code: string; kind: string }) => [r.code, r.kind])),
      TRANSFER_CODE_KINDS,
    );
  });
});
