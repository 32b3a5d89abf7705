// Email delivery under failure: retried activities, an SMTP server that says
// "later" or is down, preferences, and the one crash window the Message-ID covers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { deliverEmails, type DeliveryDeps } from '../../notifications/delivery';
import { STALE_EMAIL_AFTER_MS } from '../../bookings/reconciler';
import { claimDueEmails, failDueEmails, failStaleEmails, finishEmail } from '../../notifications/email-queue';
import { smtpMailer, type Mailer } from '../../notifications/mailer';
import { recordNotifications } from '../../notifications/service';
import { register, testApi, type Session } from '../support/api';
import {
  attend,
  bookOk,
  cast,
  finishRoom,
  publishSlot,
  settled,
  startBookingHarness,
  untilPhase,
  workflowOf,
  type BookingHarness,
} from '../support/bookings';
import { freePort, testDb } from '../support/db';
import { requireTimeSkipping } from '../support/devserver';
import { startSmtpCatcher } from '../support/smtp';
import { connectNotifications } from '../support/sockets';

const MINUTE_MS = 60_000;

interface EmailRow {
  event_key: string;
  email_status: string;
  email_attempts: number;
  email_error: string | null;
}

async function emailsOf(harness: BookingHarness, sourceId: string): Promise<EmailRow[]> {
  return harness.api
    .db('notifications')
    .where({ source_id: sourceId })
    .orderBy(['event_key', 'user_id'])
    .select('event_key', 'email_status', 'email_attempts', 'email_error');
}

async function cancel(harness: BookingHarness, student: Session, bookingId: string): Promise<void> {
  const response = await harness.api.request('POST', `/api/v1/bookings/${bookingId}/cancel`, {
    token: student.token,
    body: {},
  });
  assert.equal(response.status, 200, response.text);
}

describe('email delivery when things fail', () => {
  before(function () {
    requireTimeSkipping(this);
  });

  it('when the delivery activity is retried after the SMTP server took the message, then nothing more is sent', async () => {
    const smtp = await startSmtpCatcher();
    let lost = 0;
    const harness = await startBookingHarness(
      {},
      {
        activities: { mailer: smtpMailer(smtp.url) },
        wrapActivities: (activities) => ({
          ...activities,
          // The worker dies after the attempt did its work: Temporal retries it.
          deliverNotifications: async (input) => {
            const result = await activities.deliverNotifications(input);
            if (lost++ === 0) throw new Error('worker lost after the send');
            return result;
          },
        }),
      },
    );
    try {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const meeting = await publishSlot(harness, teacher, { price: 700 });
      const booking = await bookOk(harness, student, meeting.id);
      await cancel(harness, student, booking.id);
      await settled(harness, booking.id);

      assert.ok(lost >= 2, 'the first attempt was retried');
      for (const person of [student, teacher]) {
        assert.deepEqual(
          smtp
            .to(person.user.email)
            .map((m) => m.subject)
            .sort(),
          [
            'Booking cancelled: Test class',
            person === student ? 'Booking confirmed: Test class' : 'New booking: Test class',
          ].sort(),
        );
      }
      assert.ok((await emailsOf(harness, booking.id)).every((row) => row.email_status === 'sent'));
    } finally {
      await harness.close();
    }
  });

  it('when the SMTP server says "try later" three times, then each message still arrives exactly once', async () => {
    const smtp = await startSmtpCatcher();
    smtp.deferNext(3);
    const harness = await startBookingHarness({}, { activities: { mailer: smtpMailer(smtp.url) } });
    try {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const meeting = await publishSlot(harness, teacher, { price: 700 });
      const booking = await bookOk(harness, student, meeting.id);
      await cancel(harness, student, booking.id);
      await settled(harness, booking.id);

      assert.equal(smtp.refusedCount, 3);
      assert.equal(smtp.to(student.user.email).length, 2);
      assert.equal(smtp.to(teacher.user.email).length, 2);
      const rows = await emailsOf(harness, booking.id);
      assert.ok(
        rows.every((row) => row.email_status === 'sent'),
        JSON.stringify(rows),
      );
      // Four messages, three refused tries among them.
      assert.equal(
        rows.reduce((sum, row) => sum + row.email_attempts, 0),
        4 + 3,
      );
    } finally {
      await harness.close();
    }
  });

  it('when the SMTP server is down the whole time, then the booking settles on time and its emails end failed with the reason', async () => {
    const downUrl = `smtp://127.0.0.1:${await freePort()}`;
    const harness = await startBookingHarness({}, { activities: { mailer: smtpMailer(downUrl) } });
    try {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const meeting = await publishSlot(harness, teacher, { price: 1_000 });
      const booking = await bookOk(harness, student, meeting.id);
      await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
      await untilPhase(harness, booking.id, 'open');
      await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
      await attend(harness, meeting, teacher.user.id, 0, 60);
      await attend(harness, meeting, student.user.id, 0, 60);
      await finishRoom(harness, meeting);

      // Settled while the clock stands still: the money waited for no email.
      await untilPhase(harness, booking.id, 'settled');
      const settledAt = harness.clock.now().getTime();
      assert.ok(settledAt < Date.parse(meeting.endsAt) + MINUTE_MS, 'settled at the end of the class');
      const row = await harness.api.db('bookings').where({ id: booking.id }).first();
      assert.equal(row.settlement, 'released');
      const described = await workflowOf(harness, booking.id).describe();
      assert.equal(described.status.name, 'RUNNING', 'the run still tries to mail the payment');

      await settled(harness, booking.id);
      const rows = await emailsOf(harness, booking.id);
      assert.equal(rows.length, 5, JSON.stringify(rows)); // 2 confirmed, 2 opening, 1 payment
      for (const email of rows) {
        assert.equal(email.email_status, 'failed', JSON.stringify(email));
        assert.match(email.email_error ?? '', /ECONNREFUSED/);
      }
    } finally {
      await harness.close();
    }
  });

  it('when a student turns booking emails off, then no email goes to them and the in-app notification still arrives', async () => {
    const smtp = await startSmtpCatcher();
    const harness = await startBookingHarness(
      {},
      { sockets: true, activities: { mailer: smtpMailer(smtp.url) } },
    );
    try {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const initial = await harness.api.request('GET', '/api/v1/me/notification-preferences', {
        token: student.token,
      });
      assert.deepEqual(initial.body, { email: { bookings: true, money: true, reviews: true } });
      const changed = await harness.api.request('PUT', '/api/v1/me/notification-preferences', {
        token: student.token,
        body: { email: { bookings: false, money: true, reviews: true } },
      });
      assert.equal(changed.status, 200, changed.text);
      assert.deepEqual(changed.body, { email: { bookings: false, money: true, reviews: true } });
      const socket = await connectNotifications(harness.api.url, student.token);

      const meeting = await publishSlot(harness, teacher, { price: 700 });
      const booking = await bookOk(harness, student, meeting.id);
      await socket.until((n) => n.type === 'booking_confirmed');
      await cancel(harness, student, booking.id);
      await settled(harness, booking.id);

      // Money emails are still on: only the cancellation reached the student.
      assert.deepEqual(
        smtp.to(student.user.email).map((m) => m.subject),
        ['Booking cancelled: Test class'],
      );
      assert.equal(smtp.to(teacher.user.email).length, 2);
      const rows = await emailsOf(harness, booking.id);
      const skipped = rows.filter((row) => row.email_status === 'skipped');
      assert.equal(skipped.length, 1);
      assert.equal(skipped[0]!.event_key, `booking_confirmed:${booking.id}`);
    } finally {
      await harness.close();
    }
  });

  it('when preferences are sent incomplete or with unknown keys, then 400 and nothing changes', async () => {
    const api = await testApi();
    const student = await register(api, 'student');
    for (const body of [
      { email: { bookings: false } },
      { email: { bookings: false, money: true, reviews: true, sms: true } },
      { email: { bookings: 'no', money: true, reviews: true } },
      {},
    ]) {
      const response = await api.request('PUT', '/api/v1/me/notification-preferences', {
        token: student.token,
        body,
      });
      assert.equal(response.status, 400, response.text);
      assert.equal(response.body.error.code, 'validation_error');
    }
    const stored = await api.request('GET', '/api/v1/me/notification-preferences', {
      token: student.token,
    });
    assert.deepEqual(stored.body, { email: { bookings: true, money: true, reviews: true } });
  });
});

describe('the one window where an email can go twice', () => {
  it('when a sender dies after the server took the message and its claim runs out, then the message goes again with the same Message-ID, and never a third time', async () => {
    const db = await testDb();
    const smtp = await startSmtpCatcher();
    const real = smtpMailer(smtp.url);
    let dies = true;
    const dying: Mailer = {
      async send(email) {
        const result = await real.send(email);
        if (dies) throw new Error('process died after the server accepted the message');
        return result;
      },
      close: () => real.close(),
    };
    const deps: DeliveryDeps = {
      db,
      mailer: dying,
      email: {
        from: 'Class Marketplace <no-reply@marketplace.test>',
        currency: 'usd',
        publicUrl: 'http://x',
      },
      logger: pino({ level: 'silent' }),
    };
    const student = await register(await testApi(), 'student');
    const sourceId = randomUUID();
    await recordNotifications(db, [
      {
        userId: student.user.id,
        eventKey: `booking_confirmed:${sourceId}`,
        type: 'booking_confirmed',
        payload: { bookingId: sourceId, price: 500 },
        sourceId,
      },
    ]);

    await assert.rejects(deliverEmails(deps, sourceId), /process died/);
    // While the dead attempt's claim holds, another attempt sends nothing and asks to come back.
    dies = false;
    const meanwhile = await deliverEmails(deps, sourceId);
    assert.equal(meanwhile.sent, 0);
    assert.equal(meanwhile.retry.length, 1);
    assert.equal(smtp.messages.length, 1);

    await db('notifications')
      .where({ source_id: sourceId })
      .update({
        email_claimed_until: db.raw("now() - interval '1 second'"),
      });
    const again = await deliverEmails(deps, sourceId);
    assert.equal(again.sent, 1);
    assert.equal(smtp.messages.length, 2);
    assert.equal(smtp.messages[0]!.messageId, smtp.messages[1]!.messageId);
    assert.match(smtp.messages[0]!.messageId ?? '', /^<[0-9a-f]{40}@marketplace\.test>$/);

    const after = await deliverEmails(deps, sourceId);
    assert.deepEqual(after, { sent: 0, skipped: 0, failed: 0, retry: [], more: false });
    assert.equal(smtp.messages.length, 2);
    real.close();
  });
});

describe('delivering one source’s emails', () => {
  const from = 'Class Marketplace <no-reply@marketplace.test>';

  async function setUp(people: number) {
    const db = await testDb();
    const smtp = await startSmtpCatcher();
    const mailer = smtpMailer(smtp.url);
    const deps: DeliveryDeps = {
      db,
      mailer,
      email: { from, currency: 'usd', publicUrl: 'http://x' },
      logger: pino({ level: 'silent' }),
    };
    const api = await testApi();
    const sessions = await Promise.all(Array.from({ length: people }, () => register(api, 'student')));
    const sourceId = randomUUID();
    await recordNotifications(
      db,
      sessions.map((session) => ({
        userId: session.user.id,
        eventKey: `booking_refunded:${sourceId}`,
        type: 'booking_refunded' as const,
        payload: { bookingId: sourceId, price: 500, refunded: 500 },
        sourceId,
      })),
    );
    const statusOf = async (session: Session) =>
      db('notifications')
        .where({ source_id: sourceId, user_id: session.user.id })
        .first('email_status', 'email_attempts', 'email_error');
    return { db, smtp, mailer, deps, sessions, sourceId, statusOf };
  }

  it('when a recipient is refused for good, then that email fails with the reason and the others are sent', async () => {
    const { smtp, mailer, deps, sessions, sourceId, statusOf } = await setUp(3);
    smtp.refuseRecipient(sessions[0]!.user.email);
    const report = await deliverEmails(deps, sourceId);
    assert.deepEqual(
      { sent: report.sent, failed: report.failed, retry: report.retry },
      { sent: 2, failed: 1, retry: [] },
    );
    const refused = await statusOf(sessions[0]!);
    assert.equal(refused.email_status, 'failed');
    assert.match(refused.email_error, /550 mailbox unavailable/);
    for (const other of sessions.slice(1)) assert.equal(smtp.to(other.user.email).length, 1);
    mailer.close();
  });

  it('when one recipient’s server says "later", then the others are sent now and that one once, later', async () => {
    const { smtp, mailer, deps, sessions, sourceId, statusOf } = await setUp(3);
    smtp.deferRecipient(sessions[0]!.user.email, 2);
    const first = await deliverEmails(deps, sourceId);
    assert.equal(first.sent, 2);
    assert.equal(first.retry.length, 1);
    assert.equal((await statusOf(sessions[0]!)).email_status, 'pending');
    const second = await deliverEmails(deps, sourceId);
    assert.equal(second.sent, 0);
    const third = await deliverEmails(deps, sourceId);
    assert.deepEqual({ sent: third.sent, retry: third.retry }, { sent: 1, retry: [] });
    for (const session of sessions) assert.equal(smtp.to(session.user.email).length, 1);
    assert.deepEqual(await statusOf(sessions[0]!), {
      email_status: 'sent',
      email_attempts: 3,
      email_error: null,
    });
    mailer.close();
  });

  it('when two attempts deliver the same source at once, then each email is sent once', async () => {
    const { smtp, mailer, deps, sessions, sourceId } = await setUp(12);
    const reports = await Promise.all([deliverEmails(deps, sourceId), deliverEmails(deps, sourceId)]);
    assert.equal(reports[0].sent + reports[1].sent, 12);
    assert.equal(smtp.messages.length, 12);
    for (const session of sessions) assert.equal(smtp.to(session.user.email).length, 1);
    mailer.close();
  });

  it('when an attempt outlived its claim and another claimed the email since, then the late attempt cannot finish or release it', async () => {
    const { db, sourceId, sessions, statusOf } = await setUp(1);
    const lateClaim = { token: randomUUID(), leaseMs: 60_000 };
    const late = await claimDueEmails(db, sourceId, lateClaim, 10);
    assert.equal(late.length, 1);
    await db('notifications')
      .where({ source_id: sourceId })
      .update({
        email_claimed_until: db.raw("now() - interval '1 second'"),
      });
    const current = { token: randomUUID(), leaseMs: 60_000 };
    assert.equal((await claimDueEmails(db, sourceId, current, 10)).length, 1);

    assert.equal(
      await finishEmail(db, late[0]!.id, lateClaim.token, { status: 'pending', reason: 'late' }),
      false,
    );
    assert.equal((await statusOf(sessions[0]!)).email_status, 'sending');
    assert.equal(await finishEmail(db, late[0]!.id, current.token, { status: 'sent' }), true);
    assert.equal((await statusOf(sessions[0]!)).email_status, 'sent');
  });

  it('when delivery is given up while an attempt still sends under its claim, then that email is left to it (and ends sent); the others due, and claims run out, fail', async () => {
    const { db, sourceId, sessions, statusOf } = await setUp(3);
    const [sending, expired] = await Promise.all(
      [sessions[0]!, sessions[1]!].map(async (session) => {
        const claim = { token: randomUUID(), leaseMs: 60_000 };
        const row = await db('notifications')
          .where({ source_id: sourceId, user_id: session.user.id })
          .first('id');
        await db('notifications')
          .where({ id: row.id })
          .update({
            email_status: 'sending',
            email_claim: claim.token,
            email_claimed_until: db.raw("now() + interval '1 minute'"),
          });
        return { id: row.id as string, claim };
      }),
    );
    await db('notifications')
      .where({ id: expired!.id })
      .update({ email_claimed_until: db.raw("now() - interval '1 second'") });

    assert.equal(await failDueEmails(db, sourceId, 'the SMTP server stayed down'), 2);
    assert.equal((await statusOf(sessions[0]!)).email_status, 'sending');
    for (const gone of [sessions[1]!, sessions[2]!]) {
      const status = await statusOf(gone);
      assert.equal(status.email_status, 'failed');
      assert.equal(status.email_error, 'the SMTP server stayed down');
    }
    assert.equal(await finishEmail(db, sending!.id, sending!.claim.token, { status: 'sent' }), true);
    assert.equal((await statusOf(sessions[0]!)).email_status, 'sent');
  });
});

describe('emails nobody will send', () => {
  it('when an email is still due a day after its notification, then the reconciler’s sweep marks it failed with the reason, and leaves fresh ones alone', async () => {
    const db = await testDb();
    const api = await testApi();
    const student = await register(api, 'student');
    const stale = randomUUID();
    const fresh = randomUUID();
    for (const sourceId of [stale, fresh]) {
      await recordNotifications(db, [
        {
          userId: student.user.id,
          eventKey: `booking_confirmed:${sourceId}`,
          type: 'booking_confirmed',
          payload: { bookingId: sourceId },
          sourceId,
        },
      ]);
    }
    await db('notifications')
      .where({ source_id: stale })
      .update({ created_at: db.raw("now() - interval '25 hours'") });

    assert.ok((await failStaleEmails(db, STALE_EMAIL_AFTER_MS, 100)) >= 1);
    const row = (sourceId: string) =>
      db('notifications').where({ source_id: sourceId }).first('email_status', 'email_error');
    assert.deepEqual(await row(stale), {
      email_status: 'failed',
      email_error: 'no delivery ran for it within 24 hours',
    });
    assert.deepEqual(await row(fresh), { email_status: 'pending', email_error: null });
  });
});
