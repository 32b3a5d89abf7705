// Every event of SPEC section 6 reaches the right people: by email (read back
// from a real SMTP server) and over Socket.IO, the same notification.
import assert from 'node:assert/strict';
import type { ParsedMail } from 'mailparser';
import { smtpMailer } from '../../notifications/mailer';
import { createAdmin, type Session } from '../support/api';
import {
  attend,
  bookOk,
  cast,
  finishRoom,
  publishSlot,
  settled,
  startBookingHarness,
  untilPhase,
  type BookingHarness,
} from '../support/bookings';
import { requireTimeSkipping } from '../support/devserver';
import { startSmtpCatcher, type SmtpCatcher } from '../support/smtp';
import { connectNotifications, type NotificationClient } from '../support/sockets';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const PUBLIC_URL = 'http://localhost:3000';

function htmlOf(mail: ParsedMail): string {
  return typeof mail.html === 'string' ? mail.html : '';
}

describe('notifications of the booking events, by email and over the socket', () => {
  let harness: BookingHarness;
  let smtp: SmtpCatcher;
  let admin: Session;
  before(async function () {
    requireTimeSkipping(this);
    smtp = await startSmtpCatcher();
    harness = await startBookingHarness(
      { REVIEW_REMINDER_HOURS: '6' },
      { sockets: true, activities: { mailer: smtpMailer(smtp.url) } },
    );
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });
  afterEach(() => {
    // Nothing arrived twice, however late the second copy came.
    const seen = smtp.messages.map((m) => `${String(m.messageId)} ${m.subject ?? ''}`);
    assert.equal(new Set(seen).size, seen.length, `a message arrived twice:\n${seen.sort().join('\n')}`);
  });

  /** The one message of this kind to `address` (waits for it; fails on a second). */
  async function mailTo(address: string, subjectStart: string): Promise<ParsedMail> {
    const matching = () => smtp.to(address).filter((m) => m.subject?.startsWith(subjectStart) === true);
    while (matching().length === 0) await smtp.untilAccepted(smtp.messages.length + 1);
    const found = matching();
    assert.equal(found.length, 1, `one "${subjectStart}" message to ${address}`);
    return found[0]!;
  }

  async function socketsOf(...sessions: Session[]): Promise<NotificationClient[]> {
    return Promise.all(sessions.map((s) => connectNotifications(harness.api.url, s.token)));
  }

  it('when a class is booked, opens and is attended, then both hear of the booking and the opening (with the join link), and the teacher of the payment', async () => {
    const { teacher, student } = await cast(harness.api, { referred: true, funds: 5_000 });
    const [studentSocket, teacherSocket] = await socketsOf(student, teacher);
    const meeting = await publishSlot(harness, teacher, { price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);

    const confirmed = await mailTo(student.user.email, 'Booking confirmed: Test class');
    assert.match(confirmed.text ?? '', /\$10\.00 is held from your credits/);
    assert.match(confirmed.text ?? '', new RegExp(meeting.startsAt.replace(/\./g, '\\.')));
    assert.match(htmlOf(confirmed), /<a href="http:\/\/localhost:3000\/console\/bookings\//);
    const teacherConfirmed = await mailTo(teacher.user.email, 'New booking: Test class');
    assert.match(teacherConfirmed.text ?? '', /A student booked “Test class” \(\$10\.00\)/);
    // The same notification, pushed to each of them.
    for (const socket of [studentSocket!, teacherSocket!]) {
      const pushed = await socket.until((n) => n.type === 'booking_confirmed');
      assert.equal(pushed.payload.bookingId, booking.id);
    }

    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    const joinUrl = `${PUBLIC_URL}/console/bookings/${booking.id}/class`;
    const opening = await mailTo(student.user.email, '“Test class” is open');
    assert.ok(opening.text?.includes(`Join the class: ${joinUrl}`), opening.text);
    assert.ok(opening.text?.includes(`notification preferences: ${PUBLIC_URL}/console/notifications`));
    assert.ok(htmlOf(opening).includes(`href="${joinUrl}"`));
    await mailTo(teacher.user.email, '“Test class” is open');
    const pushedOpening = await studentSocket!.until((n) => n.type === 'class_opening');
    assert.equal(pushedOpening.payload.joinUrl, joinUrl);

    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, teacher.user.id, 0, 60);
    await attend(harness, meeting, student.user.id, 0, 60);
    await finishRoom(harness, meeting);
    await settled(harness, booking.id);
    // Referred: 70% of $10.00 to the teacher.
    const released = await mailTo(teacher.user.email, 'Payment released: $7.00 for Test class');
    assert.match(released.text ?? '', /\$7\.00 for “Test class” is now in your earnings/);
    await teacherSocket!.until((n) => n.type === 'payment_released');
    // The student was not refunded, so heard nothing more.
    assert.deepEqual(
      smtp.to(student.user.email).map((m) => m.subject),
      ['Booking confirmed: Test class', '“Test class” is open: join now'],
    );
    assert.deepEqual(
      studentSocket!.received.map((n) => n.type),
      ['booking_confirmed', 'class_opening'],
    );
  });

  it('when the student cancels in time, then both hear of the cancellation and the student of the refund', async () => {
    const { teacher, student } = await cast(harness.api, { funds: 5_000 });
    const [studentSocket] = await socketsOf(student);
    const meeting = await publishSlot(harness, teacher, { price: 1_250 });
    const booking = await bookOk(harness, student, meeting.id);
    const cancelled = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/cancel`, {
      token: student.token,
      body: {},
    });
    assert.equal(cancelled.status, 200, cancelled.text);

    const toStudent = await mailTo(student.user.email, 'Booking cancelled: Test class');
    assert.match(toStudent.text ?? '', /\$12\.50 is back in your credits/);
    const toTeacher = await mailTo(teacher.user.email, 'Booking cancelled: Test class');
    assert.match(toTeacher.text ?? '', /The student’s payment was refunded/);
    const pushed = await studentSocket!.until((n) => n.type === 'booking_cancelled');
    assert.equal(pushed.payload.refunded, 1_250);
  });

  it('when the student attends too little, then the student hears of the refund', async () => {
    const { teacher, student } = await cast(harness.api, { funds: 5_000 });
    const meeting = await publishSlot(harness, teacher, { price: 900 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, teacher.user.id, 0, 60);
    await attend(harness, meeting, student.user.id, 0, 5);
    await finishRoom(harness, meeting);
    await settled(harness, booking.id);

    const refund = await mailTo(student.user.email, 'Refund: $9.00 for Test class');
    assert.match(refund.text ?? '', /attendance was below the threshold/);
    assert.equal(
      smtp.to(teacher.user.email).filter((m) => m.subject?.startsWith('Payment released') === true).length,
      0,
    );
  });

  it('when nobody but the teacher shows up, then admins are asked to review and reminded, and both sides hear the resolution', async () => {
    const { teacher, student } = await cast(harness.api, { funds: 5_000 });
    const [adminSocket, studentSocket] = await socketsOf(admin, student);
    const meeting = await publishSlot(harness, teacher, { price: 2_000 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, teacher.user.id, 0, 60);
    await finishRoom(harness, meeting);
    await untilPhase(harness, booking.id, 'review');

    const required = await mailTo(admin.user.email, 'Review required: Test class');
    assert.match(required.text ?? '', /the student did not attend/);
    assert.match(required.text ?? '', /\$20\.00 stays held/);
    assert.ok(required.text?.includes(`${PUBLIC_URL}/console/reviews?booking=${booking.id}`), required.text);
    await adminSocket!.until((n) => n.type === 'review_required' && n.payload.bookingId === booking.id);

    await harness.skip(6 * HOUR_MS + MINUTE_MS);
    const reminder = await mailTo(admin.user.email, 'Reminder 1: review waiting for Test class');
    assert.ok(reminder.text?.includes(`${PUBLIC_URL}/console/reviews?booking=${booking.id}`), reminder.text);
    await adminSocket!.until((n) => n.type === 'review_reminder' && n.payload.bookingId === booking.id);

    const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'refund' },
    });
    assert.equal(resolved.status, 200, resolved.text);
    const toStudent = await mailTo(student.user.email, 'Review resolved: Test class');
    assert.match(toStudent.text ?? '', /\$20\.00 is back in your credits/);
    const toTeacher = await mailTo(teacher.user.email, 'Review resolved: Test class');
    assert.match(toTeacher.text ?? '', /Nothing is paid out/);
    await studentSocket!.until((n) => n.type === 'review_resolved');
  });

  it('when a title holds markup, then the HTML shows it as text and the plain text as written', async () => {
    const { teacher, student } = await cast(harness.api, { funds: 5_000 });
    const title = '<script>alert(1)</script> & "quotes"';
    const published = await harness.api.request('POST', '/api/v1/teachers/me/slots', {
      token: teacher.token,
      body: {
        startsAt:
          new Date(harness.clock.now().getTime() + 2 * 24 * HOUR_MS).toISOString().slice(0, 16) + ':00.000Z',
        durationMinutes: 30,
        price: 500,
        title,
      },
    });
    assert.equal(published.status, 201, published.text);
    await bookOk(harness, student, published.body.id);
    const mail = await mailTo(student.user.email, `Booking confirmed: ${title}`);
    assert.ok(mail.text?.includes(`“${title}”`), mail.text);
    const html = htmlOf(mail);
    assert.ok(!html.includes('<script>'), html);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;'), html);
  });
});
