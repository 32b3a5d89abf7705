// Withdrawals through the whole system: the API, the withdrawal workflow on the
// dev server, the ledger and the notifications, with the manual payout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createAdmin, register, type Session } from '../support/api';
import {
  assertAuditClean,
  earningsOf,
  eventually,
  startBookingHarness,
  type BookingHarness,
} from '../support/bookings';
import { requireTimeSkipping } from '../support/devserver';
import { testDatabase } from '../support/db';
import { historyToFile, HISTORIES_DIR } from '../support/histories';
import {
  adminAct,
  BANK_ACCOUNT,
  earn,
  untilWithdrawalPhase,
  withdraw,
  withdrawalWorkflow,
  withdrawOk,
} from '../support/withdrawals';

const HOUR_MS = 3_600_000;
const RECORD = process.env.RECORD_HISTORIES === '1';

describe('withdrawals (manual payouts)', () => {
  let harness: BookingHarness;
  let admin: Session;
  /** Every log line of the API and the activities, at debug. */
  const logLines: string[] = [];
  before(async () => {
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    harness = await startBookingHarness(
      { WITHDRAWAL_MIN_AMOUNT: '100', LOG_LEVEL: 'debug' },
      { logger, activities: { logger } },
    );
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  async function earningTeacher(amount: number): Promise<Session> {
    const teacher = await register(harness.api, 'teacher');
    await earn(harness.api, teacher.user.id, amount);
    return teacher;
  }

  async function notificationsOf(userId: string, type: string) {
    return harness.api.db('notifications').where({ user_id: userId, type }).select('payload');
  }

  it('when a teacher withdraws and an admin approves and confirms the bank transfer, then the hold is posted and the teacher is told at each step', async () => {
    const teacher = await earningTeacher(5_000);
    const asked = await withdrawOk(harness.api, teacher, 3_000);
    assert.equal(asked.status, 'pending');
    assert.equal(asked.provider, 'manual');
    assert.deepEqual(asked.bankAccount, { holderName: 'Ada Teacher', bankName: 'Test Bank', last4: '3000' });
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 2_000,
      held: 3_000,
      total: 5_000,
    });
    assert.equal((await notificationsOf(admin.user.id, 'withdrawal_requested')).length, 1);

    const approved = await adminAct(harness.api, admin, asked.id, 'approve');
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.body.status, 'processing');
    const completed = await adminAct(harness.api, admin, asked.id, 'complete', { reference: 'BANK-REF-42' });
    assert.equal(completed.status, 200, completed.text);
    assert.equal(completed.body.status, 'completed');
    assert.equal(completed.body.reference, 'BANK-REF-42');

    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 2_000,
      held: 0,
      total: 2_000,
    });
    assert.equal((await notificationsOf(teacher.user.id, 'withdrawal_processing')).length, 1);
    assert.equal((await notificationsOf(teacher.user.id, 'withdrawal_completed')).length, 1);
    const handle = withdrawalWorkflow(harness, asked.id);
    const state = (await handle.result()) as { phase: string };
    assert.equal(state.phase, 'completed');
    if (RECORD)
      historyToFile(await handle.fetchHistory(), path.join(HISTORIES_DIR, 'withdrawal-manual-v1.json'));

    const statement = await harness.api.request('GET', '/api/v1/wallet/transactions?type=withdrawal', {
      token: teacher.token,
    });
    assert.equal(statement.status, 200);
    assert.deepEqual(
      statement.body.data.map((l: any) => [l.amount, l.status, l.reference.id]),
      [[-3_000, 'completed', asked.id]],
    );
    await assertAuditClean(harness.api);
  });

  it('when an admin rejects, then the amount returns to the teacher, who is told why, and a later approval is refused', async () => {
    const teacher = await earningTeacher(2_000);
    const asked = await withdrawOk(harness.api, teacher, 1_500);
    const rejected = await adminAct(harness.api, admin, asked.id, 'reject', {
      reason: 'Name does not match',
    });
    assert.equal(rejected.status, 200, rejected.text);
    assert.equal(rejected.body.status, 'rejected');
    assert.equal(rejected.body.reason, 'Name does not match');
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 2_000,
      held: 0,
      total: 2_000,
    });
    const [told] = await notificationsOf(teacher.user.id, 'withdrawal_rejected');
    assert.equal(told.payload.reason, 'Name does not match');

    if (RECORD) {
      const handle = withdrawalWorkflow(harness, asked.id);
      await handle.result();
      historyToFile(await handle.fetchHistory(), path.join(HISTORIES_DIR, 'withdrawal-rejected-v1.json'));
    }
    const late = await adminAct(harness.api, admin, asked.id, 'approve');
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'already_resolved');
    const statement = await harness.api.request('GET', '/api/v1/wallet/transactions?type=withdrawal', {
      token: teacher.token,
    });
    assert.deepEqual(
      statement.body.data.map((l: any) => [l.amount, l.status]),
      [
        [1_500, 'completed'],
        [-1_500, 'cancelled'],
      ],
    );
    await assertAuditClean(harness.api);
  });

  it('when an approval and a rejection race, then exactly one wins and the other gets 409', async () => {
    const teacher = await earningTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 1_000);
    const [approve, reject] = await Promise.all([
      adminAct(harness.api, admin, asked.id, 'approve'),
      adminAct(harness.api, admin, asked.id, 'reject', { reason: 'duplicate' }),
    ]);
    assert.deepEqual([approve.status, reject.status].sort(), [200, 409]);
    const loser = approve.status === 409 ? approve : reject;
    assert.equal(loser.body.error.code, 'already_resolved');
    const row = await harness.api.db('withdrawals').where({ id: asked.id }).first();
    assert.equal(row.status, approve.status === 200 ? 'processing' : 'rejected');
  });

  it('when a manual payout bounces, then the admin reports it failed and the amount returns to the teacher', async () => {
    const teacher = await earningTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 800);
    assert.equal((await adminAct(harness.api, admin, asked.id, 'approve')).status, 200);
    const failed = await adminAct(harness.api, admin, asked.id, 'fail', { reason: 'Account closed' });
    assert.equal(failed.status, 200, failed.text);
    assert.equal(failed.body.status, 'failed');
    assert.equal(failed.body.reason, 'Account closed');
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 1_000,
      held: 0,
      total: 1_000,
    });
    assert.equal((await notificationsOf(teacher.user.id, 'withdrawal_failed')).length, 1);
    const again = await adminAct(harness.api, admin, asked.id, 'complete', { reference: 'late' });
    assert.equal(again.status, 409);
    await assertAuditClean(harness.api);
  });

  it('when a payout is confirmed before the approval, then it is refused (409 not_processing) and nothing moves', async () => {
    const teacher = await earningTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 500);
    const early = await adminAct(harness.api, admin, asked.id, 'complete', { reference: 'too-early' });
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, 'not_processing');
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 500,
      held: 500,
      total: 1_000,
    });
  });

  it('when withdrawals beyond the available earnings arrive at once, then only those covered are held and nothing is overdrawn', async () => {
    const teacher = await earningTeacher(1_000);
    const responses = await Promise.all(Array.from({ length: 6 }, () => withdraw(harness.api, teacher, 300)));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 402, 402, 402]);
    for (const refused of responses.filter((r) => r.status === 402)) {
      assert.equal(refused.body.error.code, 'insufficient_funds');
    }
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 100,
      held: 900,
      total: 1_000,
    });
    const rows = await harness.api.db('withdrawals').where({ teacher_id: teacher.user.id });
    assert.equal(rows.length, 3);
    await assertAuditClean(harness.api);
  });

  it('when the same request is retried with its Idempotency-Key, then one withdrawal is held; the key with another amount is 422', async () => {
    const teacher = await earningTeacher(2_000);
    const key = randomUUID();
    const first = await withdraw(harness.api, teacher, 700, { headers: { 'Idempotency-Key': key } });
    const again = await withdraw(harness.api, teacher, 700, { headers: { 'Idempotency-Key': key } });
    assert.equal(first.status, 201, first.text);
    assert.equal(again.status, 201);
    assert.equal(again.body.id, first.body.id);
    const other = await withdraw(harness.api, teacher, 800, { headers: { 'Idempotency-Key': key } });
    assert.equal(other.status, 422);
    // Once the stored answer is purged (IDEMPOTENCY_KEY_RETENTION_HOURS), the withdrawal itself still knows its request.
    await harness.api.db('idempotency_keys').where({ user_id: teacher.user.id, key }).delete();
    const otherAccount = await withdraw(harness.api, teacher, 700, {
      headers: { 'Idempotency-Key': key },
      bankAccount: { holderName: 'Someone Else', accountNumber: '99998888' },
    });
    assert.equal(otherAccount.status, 422);
    const sameAfterPurge = await withdraw(harness.api, teacher, 700, { headers: { 'Idempotency-Key': key } });
    assert.equal(sameAfterPurge.status, 201);
    assert.equal(sameAfterPurge.body.id, first.body.id);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 1_300,
      held: 700,
      total: 2_000,
    });
  });

  it('when the amount is below the minimum, above the available earnings, or the bank account is not valid, then 4xx and nothing is held', async () => {
    const teacher = await earningTeacher(500);
    const small = await withdraw(harness.api, teacher, 99);
    assert.equal(small.status, 400);
    assert.equal(small.body.error.details[0].path, 'body.amount');
    const large = await withdraw(harness.api, teacher, 501);
    assert.equal(large.status, 402);
    const badIban = await withdraw(harness.api, teacher, 200, {
      bankAccount: { holderName: 'A', iban: 'DE89 3704 0044 0532 0130 01' },
    });
    assert.equal(badIban.status, 400);
    assert.doesNotMatch(badIban.text, /0532/, 'the error does not echo the account');
    const neither = await withdraw(harness.api, teacher, 200, { bankAccount: { holderName: 'A' } });
    assert.equal(neither.status, 400);
    const both = await withdraw(harness.api, teacher, 200, {
      bankAccount: { ...BANK_ACCOUNT, accountNumber: '12345678' },
    });
    assert.equal(both.status, 400);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), { available: 500, held: 0, total: 500 });
    assert.equal((await harness.api.db('withdrawals').where({ teacher_id: teacher.user.id })).length, 0);
  });

  it('when others ask, then only teachers withdraw, only admins decide, and a teacher sees only their own withdrawals', async () => {
    const teacher = await earningTeacher(1_000);
    const other = await earningTeacher(1_000);
    const student = await register(harness.api, 'student');
    const mine = await withdrawOk(harness.api, teacher, 400);
    const theirs = await withdrawOk(harness.api, other, 300);

    assert.equal((await withdraw(harness.api, student, 400)).status, 403);
    assert.equal((await withdraw(harness.api, admin, 400)).status, 403);
    assert.equal((await adminAct(harness.api, teacher, mine.id, 'approve')).status, 403);

    const list = await harness.api.request('GET', '/api/v1/withdrawals', { token: teacher.token });
    assert.deepEqual(
      list.body.data.map((w: any) => w.id),
      [mine.id],
    );
    const foreign = await harness.api.request('GET', `/api/v1/withdrawals/${theirs.id}`, {
      token: teacher.token,
    });
    assert.equal(foreign.status, 404);
    const all = await harness.api.request('GET', '/api/v1/withdrawals?status=pending&limit=100', {
      token: admin.token,
    });
    const ids = all.body.data.map((w: any) => w.id);
    assert.ok(ids.includes(mine.id) && ids.includes(theirs.id));
    assert.equal(
      (await harness.api.request('GET', '/api/v1/withdrawals', { token: student.token })).status,
      403,
    );
  });

  it('when a withdrawal waits for a decision, then admins are reminded daily, and not after the decision', async function () {
    requireTimeSkipping(this);
    const teacher = await earningTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 400);
    await untilWithdrawalPhase(harness, asked.id, 'pending');
    await harness.skip(24 * HOUR_MS + 60_000);
    const reminders = async () =>
      (
        await harness.api.db('notifications').where({ user_id: admin.user.id, type: 'withdrawal_reminder' })
      ).filter((n: any) => n.payload.withdrawalId === asked.id).length;
    await untilWithdrawalPhase(harness, asked.id, 'pending');
    assert.equal(await reminders(), 1);
    assert.equal((await adminAct(harness.api, admin, asked.id, 'reject', { reason: 'no' })).status, 200);
    await harness.skip(48 * HOUR_MS);
    assert.equal(await reminders(), 1);
  });

  it('when bank details are given, then no response, log line, stored column but the sealed one, or workflow history shows them whole', async () => {
    const teacher = await earningTeacher(1_000);
    const accountNumber = '000987654321';
    // Not a round number: a history's timestamps carry nanos such as 110000000 (110 ms).
    const routingNumber = '026073150';
    const bankAccount = { holderName: 'Grace Hopper', accountNumber, routingNumber };
    const key = randomUUID();
    const asked = await withdraw(harness.api, teacher, 600, {
      bankAccount,
      headers: { 'Idempotency-Key': key },
    });
    assert.equal(asked.status, 201, asked.text);
    // The remembered request is a keyed hash: a plain one would give the account away to guessing.
    const remembered = await harness.api
      .db('idempotency_keys')
      .where({ user_id: teacher.user.id, key })
      .first();
    assert.match(remembered.request_hash, /^hmac:[0-9a-f]{16}:[0-9a-f]{64}$/);
    assert.deepEqual(asked.body.bankAccount, { holderName: 'Grace Hopper', bankName: null, last4: '4321' });
    const approved = await adminAct(harness.api, admin, asked.body.id, 'approve');
    const completed = await adminAct(harness.api, admin, asked.body.id, 'complete', { reference: 'R-1' });
    const listed = await harness.api.request('GET', '/api/v1/withdrawals?limit=100', { token: admin.token });
    const handle = withdrawalWorkflow(harness, asked.body.id);
    await handle.result();
    const history = JSON.stringify(await handle.fetchHistory());
    const row = await harness.api.db('withdrawals').where({ id: asked.body.id }).first();
    const { bank_account_sealed: sealed, ...clearColumns } = row;
    assert.match(sealed, /^v1\./);
    const seen = {
      responses: [asked.text, approved.text, completed.text, listed.text].join('\n'),
      logs: logLines.join(''),
      history,
      row: JSON.stringify(clearColumns),
      remembered: JSON.stringify(remembered),
      sealed,
    };
    assert.ok(seen.logs.includes(asked.body.id), 'the log captured this withdrawal');
    for (const [where, text] of Object.entries(seen)) {
      for (const secret of [accountNumber, '0987654', routingNumber]) {
        assert.ok(!text.includes(secret), `${where} shows ${secret}`);
      }
    }
    assert.ok(!seen.history.includes('Grace Hopper'), 'the history carries no bank details at all');
  });

  it('when the operator asks for the bank details of a withdrawal, then the command opens them with the data key, and refuses without it', async () => {
    const teacher = await earningTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 500);
    const testDatabaseUrl = (await testDatabase()).url;
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/bank-details.ts', asked.id], {
        env: { PATH: process.env.PATH!, DATABASE_URL: testDatabaseUrl, LOG_LEVEL: 'silent', ...env },
      });
    const opened = await run({ DATA_ENCRYPTION_KEY: harness.api.settings.DATA_ENCRYPTION_KEY });
    assert.match(opened.stdout, /IBAN +DE89370400440532013000/);
    assert.match(opened.stdout, /holder +Ada Teacher/);
    const otherKey = Buffer.alloc(32, 9).toString('base64');
    await assert.rejects(run({ DATA_ENCRYPTION_KEY: otherKey }), (error: { stderr: string }) =>
      /does not hold/.test(error.stderr),
    );
  });

  it('when a withdrawal’s run was terminated, pending or after its approval, then an admin’s next action starts it again from the row and the money is not held for ever', async () => {
    const teacher = await earningTeacher(2_000);
    const pending = await withdrawOk(harness.api, teacher, 500);
    /** Terminated between activities (one cut off mid-run would complete into nothing: a stale completion). */
    const terminate = async (reason: string) => {
      const handle = withdrawalWorkflow(harness, pending.id);
      await eventually(async () => {
        const { raw } = await handle.describe();
        // No activity out, and no workflow task that could schedule one before the terminate lands.
        const idle = (raw.pendingActivities ?? []).length === 0 && (raw.pendingWorkflowTask ?? null) === null;
        return idle ? true : undefined;
      }, 'no activity running nor about to be');
      await handle.terminate(reason);
    };
    await terminate('support staff stopped it');
    const approved = await adminAct(harness.api, admin, pending.id, 'approve');
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.body.status, 'processing');

    await terminate('stopped again, after the approval');
    const again = await adminAct(harness.api, admin, pending.id, 'approve');
    assert.equal(again.status, 409, 'the resumed run knows it was approved');
    assert.equal(again.body.error.code, 'already_resolved');
    const completed = await adminAct(harness.api, admin, pending.id, 'complete', {
      reference: 'AFTER-RESTART',
    });
    assert.equal(completed.status, 200, completed.text);
    assert.equal(completed.body.status, 'completed');
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 1_500,
      held: 0,
      total: 1_500,
    });
    await assertAuditClean(harness.api);
  });
});
