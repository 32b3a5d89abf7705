// Withdrawal status changes (SPEC section 6) reach the right people: by email
// (read back from a real SMTP server) and over Socket.IO.
import assert from 'node:assert/strict';
import type { ParsedMail } from 'mailparser';
import { smtpMailer } from '../../notifications/mailer';
import { createAdmin, register, type Session } from '../support/api';
import { startBookingHarness, type BookingHarness } from '../support/bookings';
import { startSmtpCatcher, type SmtpCatcher } from '../support/smtp';
import { connectNotifications } from '../support/sockets';
import { adminAct, earn, withdrawalWorkflow, withdrawOk } from '../support/withdrawals';

describe('notifications of withdrawals, by email and over the socket', () => {
  let harness: BookingHarness;
  let smtp: SmtpCatcher;
  let admin: Session;
  before(async () => {
    smtp = await startSmtpCatcher();
    harness = await startBookingHarness(
      { WITHDRAWAL_MIN_AMOUNT: '100' },
      { sockets: true, activities: { mailer: smtpMailer(smtp.url) } },
    );
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  async function mailTo(address: string, subjectStart: string): Promise<ParsedMail> {
    const matching = () => smtp.to(address).filter((m) => m.subject?.startsWith(subjectStart) === true);
    while (matching().length === 0) await smtp.untilAccepted(smtp.messages.length + 1);
    const found = matching();
    assert.equal(found.length, 1, `one "${subjectStart}" message to ${address}`);
    return found[0]!;
  }

  it('when a withdrawal is asked, approved and paid, then admins hear of the request and the teacher of each step, with the amount', async () => {
    const teacher = await register(harness.api, 'teacher');
    await earn(harness.api, teacher.user.id, 5_000);
    const socket = await connectNotifications(harness.api.url, teacher.token);
    const asked = await withdrawOk(harness.api, teacher, 3_000);

    const request = await mailTo(admin.user.email, 'Withdrawal to approve: $30.00');
    assert.match(request.text ?? '', new RegExp(`withdrawal ${asked.id}`));
    assert.doesNotMatch(request.text ?? '', /0532|Ada Teacher/, 'no bank details in email');
    assert.equal((await adminAct(harness.api, admin, asked.id, 'approve')).status, 200);
    await mailTo(teacher.user.email, 'Withdrawal approved: $30.00 is on its way');
    assert.equal(
      (await adminAct(harness.api, admin, asked.id, 'complete', { reference: 'BANK-7' })).status,
      200,
    );
    const paid = await mailTo(teacher.user.email, 'Withdrawal paid: $30.00');
    assert.match(paid.text ?? '', /reference BANK-7/);

    const pushed = await socket.until((n) => n.type === 'withdrawal_completed');
    assert.deepEqual(pushed.payload, { withdrawalId: asked.id, amount: 3_000, reference: 'BANK-7' });
    await withdrawalWorkflow(harness, asked.id).result();
    socket.close();
  });

  it('when a withdrawal is rejected, then the teacher is told why by email and over the socket', async () => {
    const teacher = await register(harness.api, 'teacher');
    await earn(harness.api, teacher.user.id, 1_000);
    const socket = await connectNotifications(harness.api.url, teacher.token);
    const asked = await withdrawOk(harness.api, teacher, 1_000);
    const reason = 'Holder <b>name</b> does not match';
    assert.equal((await adminAct(harness.api, admin, asked.id, 'reject', { reason })).status, 200);
    const mail = await mailTo(teacher.user.email, 'Withdrawal rejected: $10.00');
    assert.match(mail.text ?? '', /rejected: Holder <b>name<\/b> does not match/);
    assert.match(typeof mail.html === 'string' ? mail.html : '', /Holder &lt;b&gt;name&lt;\/b&gt;/);
    const pushed = await socket.until((n) => n.type === 'withdrawal_rejected');
    assert.equal(pushed.payload.reason, reason);
    await withdrawalWorkflow(harness, asked.id).result();
    socket.close();
  });
});
