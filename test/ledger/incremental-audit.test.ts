// The incremental audit (ledger/incremental-audit.ts): each test has a database
// of its own, since the checkpoints it records cover every transfer in it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Db } from '../../db/knex';
import { withDatabase } from '../../db/provision';
import { auditLedger, formatAuditReport, type AuditReport } from '../../ledger/audit';
import { LedgerBatcher } from '../../ledger/batcher';
import { auditLedgerFully, auditLedgerIncrementally, CHAIN_CHECK } from '../../ledger/incremental-audit';
import { createTransfers } from '../../ledger/transfers';
import type { TransferSpec } from '../../ledger/types';
import { isolatedDb, testDatabase } from '../support/db';
import { escrowAccount, fundedWallet } from '../support/fixtures';

const BALANCES = 'every account balance (each shard of it) equals the sum of its transfers';

function failedChecks(report: AuditReport): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.name);
}

async function applied(db: Db | Parameters<typeof createTransfers>[0], chain: TransferSpec[]): Promise<void> {
  const result = await createTransfers(db, chain);
  assert.equal(result.status, 'created', JSON.stringify(result));
}

function payment(from: string, to: string, amount: number): TransferSpec {
  return {
    id: randomUUID(),
    kind: 'posted',
    debitAccountId: from,
    creditAccountId: to,
    amount,
    code: 'platform_fee',
  };
}

function hold(wallet: string, amount: number): TransferSpec & { id: string } {
  return {
    id: randomUUID(),
    kind: 'pending',
    debitAccountId: wallet,
    creditAccountId: escrowAccount(),
    amount,
    code: 'booking_hold',
  };
}

async function transferCount(db: Db): Promise<number> {
  const [{ n }] = (await db('ledger_transfers').count({ n: '*' })) as [{ n: string }];
  return Number(n);
}

/** An incremental round that must pass; answers its report. */
async function passingRound(db: Db): Promise<AuditReport> {
  const report = await auditLedgerIncrementally(db);
  assert.ok(report.ok, formatAuditReport(report));
  assert.notEqual(report.checkpoint?.recordedId, null, 'a passing round records a checkpoint');
  return report;
}

/** Runs `breakIt` and an incremental round in one transaction that is always rolled back. */
async function roundAfter(db: Db, breakIt: (trx: Db) => Promise<void>): Promise<AuditReport> {
  let report: AuditReport | undefined;
  await db
    .transaction(async (trx) => {
      await trx.raw('set transaction isolation level repeatable read');
      await breakIt(trx);
      report = await auditLedgerIncrementally(trx);
      throw new Error('rollback');
    })
    .catch((error: Error) => assert.equal(error.message, 'rollback'));
  return report!;
}

describe('incremental ledger audit', () => {
  it('when there is no checkpoint yet, then the first round is a full audit that records one; the next reads only the new transfers', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 1_000);
    const other = await fundedWallet(db, 0);

    const first = await passingRound(db);
    assert.equal(first.mode, 'full');
    assert.equal(first.transfers, await transferCount(db));

    await applied(db, [payment(wallet, other, 10)]);
    await applied(db, [payment(wallet, other, 20), payment(other, wallet, 5)]);
    const second = await passingRound(db);
    assert.equal(second.mode, 'incremental');
    assert.equal(second.checkpoint?.baseId, first.checkpoint?.recordedId);
    assert.equal(second.checkpoint?.windowTransfers, 3);
    assert.equal(second.transfers, await transferCount(db));

    const third = await passingRound(db);
    assert.equal(third.checkpoint?.windowTransfers, 0);
    assert.equal(third.transfers, second.transfers);
  });

  it('when a transfer with a lower seq commits after a checkpoint that saw a higher one, then the next round counts it once', async () => {
    const db = await isolatedDb();
    const [a1, a2, b1, b2] = await Promise.all([
      fundedWallet(db, 100),
      fundedWallet(db, 0),
      fundedWallet(db, 100),
      fundedWallet(db, 0),
    ]);
    await passingRound(db);

    // A draws its seq first and commits last; B commits in between.
    const late = await db.transaction();
    await applied(late, [payment(a1, a2, 7)]);
    await applied(db, [payment(b1, b2, 9)]);
    const [lateSeq, earlySeq] = (await Promise.all([
      late('ledger_transfers')
        .where({ debit_account_id: a1, kind: 'posted', code: 'platform_fee' })
        .first('seq'),
      db('ledger_transfers').where({ debit_account_id: b1, code: 'platform_fee' }).first('seq'),
    ])) as [{ seq: number }, { seq: number }];
    assert.ok(lateSeq.seq < earlySeq.seq, 'the open transaction holds the lower seq');

    const whileOpen = await passingRound(db);
    assert.equal(whileOpen.checkpoint?.windowTransfers, 1, 'only the committed transfer');
    await late.commit();

    const after = await passingRound(db);
    assert.equal(after.checkpoint?.windowTransfers, 1, 'the late transfer, below the highest seq seen');
    const again = await passingRound(db);
    assert.equal(again.checkpoint?.windowTransfers, 0, 'and never again');
    assert.equal(again.transfers, await transferCount(db));
    const full = await auditLedger(db);
    assert.ok(full.ok, formatAuditReport(full));
  });

  it('when holds in a checkpoint are posted and voided after it, then the next round moves them out of pending', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 100);
    const [posted, voided] = [hold(wallet, 30), hold(wallet, 20)];
    await applied(db, [posted]);
    await applied(db, [voided]);
    const before = await passingRound(db);

    await applied(db, [
      { id: randomUUID(), kind: 'post_pending', pendingId: posted.id, amount: 25, code: 'booking_charge' },
    ]);
    await applied(db, [
      { id: randomUUID(), kind: 'void_pending', pendingId: voided.id, code: 'booking_refund' },
    ]);
    const after = await passingRound(db);
    assert.equal(after.checkpoint?.windowTransfers, 2);

    const totals: { debits_pending: number; debits_posted: number; credits_posted: number } = await db(
      'ledger_audit_checkpoint_balances',
    )
      .where({ checkpoint_id: after.checkpoint?.recordedId ?? null, account_id: wallet })
      .first();
    assert.deepEqual(
      [totals.debits_pending, totals.debits_posted, totals.credits_posted],
      [0, 25, 100],
      JSON.stringify({ before: before.checkpoint, totals }),
    );
  });

  it('when a balance row is changed behind the ledger after a checkpoint, then the round names the broken invariants and records nothing', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 100);
    await passingRound(db);

    const report = await roundAfter(db, async (trx) => {
      await trx('ledger_balances').where({ account_id: wallet }).increment('credits_posted', 5);
    });
    assert.deepEqual(failedChecks(report), [
      'total debits equal total credits (posted and pending separately)',
      BALANCES,
    ]);
    assert.equal(report.checkpoint?.recordedId, null);
  });

  it('when a transfer is written around the ledger function after a checkpoint, then the round names the broken invariants', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 100);
    await passingRound(db);

    const report = await roundAfter(db, async (trx) => {
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
    assert.deepEqual(failedChecks(report), [
      BALANCES,
      'recorded balance-after of single-shard accounts equals the running sum (statements are exact)',
    ]);
  });

  it('when a wallet goes below zero after a checkpoint, then the round says so though the wallet ends positive', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 100);
    await passingRound(db);

    const report = await roundAfter(db, async (trx) => {
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
      failedChecks(report).includes(
        'no wallet or earnings account was ever overdrawn (every recorded balance-after >= 0)',
      ),
      formatAuditReport(report),
    );
  });

  it('when a checkpoint’s totals are changed behind the audit, then the next round finds it no longer follows from the one before', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 100);
    const other = await fundedWallet(db, 0);
    await passingRound(db);
    await applied(db, [payment(wallet, other, 10)]);
    const latest = await passingRound(db);

    const report = await roundAfter(db, async (trx) => {
      // Totals are never updated (a trigger refuses it); a row replaced is the same harm.
      const key = { checkpoint_id: latest.checkpoint!.recordedId, account_id: other };
      const row = (await trx('ledger_audit_checkpoint_balances').where(key).first()) as Record<
        string,
        number
      >;
      await trx('ledger_audit_checkpoint_balances').where(key).delete();
      await trx('ledger_audit_checkpoint_balances').insert({
        ...row,
        credits_posted: row.credits_posted! + 1,
      });
    });
    assert.deepEqual(failedChecks(report), [CHAIN_CHECK, BALANCES], formatAuditReport(report));
    const chain = report.checks.find((c) => c.name === CHAIN_CHECK)!;
    assert.equal(chain.breaches[0]?.account_id, other);
  });

  it('when transfers are written while rounds run, then every round holds and the last one agrees with a full recomputation', async () => {
    const db = await isolatedDb();
    const wallets = await Promise.all(Array.from({ length: 8 }, () => fundedWallet(db, 1_000)));
    await passingRound(db);
    const batcher = new LedgerBatcher(db);

    let writing = true;
    const writers = wallets.map(async (wallet, w) => {
      let written = 0;
      // Bounded: at most 200 chains per writer.
      for (let i = 0; i < 200 && writing; i++) {
        const held = hold(wallet, 1);
        const result = await batcher.submit([held]);
        assert.equal(result.status, 'created');
        const settle = await batcher.submit([
          i % 2 === 0
            ? { id: randomUUID(), kind: 'post_pending', pendingId: held.id, code: 'booking_charge' }
            : { id: randomUUID(), kind: 'void_pending', pendingId: held.id, code: 'booking_refund' },
        ]);
        assert.equal(settle.status, 'created');
        await applied(db, [payment(wallet, wallets[(w + 1) % wallets.length]!, 1)]);
        written += 3;
      }
      return written;
    });
    const rounds: AuditReport[] = [];
    for (let round = 0; round < 5; round++) rounds.push(await passingRound(db));
    writing = false;
    await Promise.all(writers);

    const last = await passingRound(db);
    assert.equal(last.transfers, await transferCount(db));
    const full = await auditLedger(db);
    assert.ok(full.ok, formatAuditReport(full));
    assert.ok(
      rounds.some((r) => (r.checkpoint?.windowTransfers ?? 0) > 0),
      'the rounds ran while transfers were written',
    );
  });

  it('when npm run ledger:audit -- --full runs, then it recomputes from every transfer and records a base checkpoint for the next round', async () => {
    const db = await isolatedDb();
    await fundedWallet(db, 100);
    const { serverUrl } = await testDatabase();
    const { rows } = await db.raw<{ rows: [{ name: string }] }>('select current_database() as name');
    const connection = withDatabase(serverUrl, rows[0].name);
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join('scripts', 'ledger-audit.ts'), '--full'],
      {
        env: { ...process.env, DATABASE_URL: connection, NODE_ENV: 'test' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /full recomputation/);
    assert.match(result.stdout, /checkpoint \d+ recorded/);
    const [checkpoint] = (await db('ledger_audit_checkpoints').orderBy('id', 'desc').limit(1)) as {
      kind: string;
    }[];
    assert.equal(checkpoint?.kind, 'full');
    const next = await passingRound(db);
    assert.equal(next.mode, 'incremental');
  });

  it('when a full audit finds a breach, then it records no checkpoint', async () => {
    const db = await isolatedDb();
    const wallet = await fundedWallet(db, 100);
    let report: AuditReport | undefined;
    await db
      .transaction(async (trx) => {
        await trx('ledger_balances').where({ account_id: wallet }).increment('credits_posted', 5);
        report = await auditLedgerFully(trx);
        throw new Error('rollback');
      })
      .catch((error: Error) => assert.equal(error.message, 'rollback'));
    assert.equal(report?.ok, false);
    assert.equal(report?.checkpoint?.recordedId, null);
  });
});
