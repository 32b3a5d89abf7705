// The console's journeys, as people walk them in Debian's Chromium, against
// the real app on real Postgres, a real worker and the dev server (time skips
// where the class would take an hour). What the browser shows is checked
// against the ledger, and the audit runs after each journey.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { createAdmin, depositTo, register, type Session } from '../support/api';
import {
  assertAuditClean,
  attend,
  bookOk,
  eventually,
  finishRoom,
  publishSlot,
  settled,
  untilPhase,
  walletOf,
  type BookingHarness,
} from '../support/bookings';
import {
  assertAccessible,
  findChromium,
  launchChromium,
  noBrowser,
  screenshot,
  watchedPage,
  type PageProblems,
} from '../support/browser';
import { logIn as logInThroughPage, PASSWORD } from '../support/console';
import { requireTimeSkipping } from '../support/devserver';
import { startBookingHarnessWithLiveKit, type LocalLiveKit } from '../support/livekit-server';
import { startFakeStripe, type FakeStripe } from '../support/stripe';
import { withdrawalWorkflow } from '../support/withdrawals';

const TEMPORAL_UI_URL = 'https://temporal.example.com';
const MINUTE_MS = 60_000;
const chromiumPath = findChromium();

describe('web console: journeys in a browser', function () {
  this.timeout(180_000);
  let harness: BookingHarness;
  let browser: Browser | undefined;
  let stripe: FakeStripe;
  let livekit: LocalLiveKit;

  before(async function () {
    stripe = await startFakeStripe();
    ({ harness, livekit } = await startBookingHarnessWithLiveKit(
      { ...stripe.env, TEMPORAL_UI_URL },
      { sockets: true },
    ));
    requireTimeSkipping(this, harness.env);
    if (chromiumPath !== undefined) browser = await launchChromium(chromiumPath);
  });

  after(async function () {
    await browser?.close();
    await harness?.close();
    await livekit?.close();
    await stripe?.close();
  });

  async function open(): Promise<{ page: Page; problems: PageProblems; close: () => Promise<void> }> {
    const { context, page, problems } = await watchedPage(browser!);
    return { page, problems, close: () => context.close() };
  }

  const logIn = (page: Page, email: string) => logInThroughPage(page, harness.api.url, email);

  /** Nothing went wrong in the page: no script error, nothing the policy blocked. */
  function assertClean(problems: PageProblems): void {
    assert.deepEqual(problems.errors, [], 'script errors');
    assert.deepEqual(problems.cspViolations, [], 'Content-Security-Policy violations');
  }

  it('when a student registers, deposits, books, joins the open class and it settles, then the wallet and statement show the charge', async function () {
    if (browser === undefined) return httpOnly();
    const teacher = await register(harness.api, 'teacher');
    const meeting = await publishSlot(harness, teacher, { price: 1_234, durationMinutes: 60 });
    const { page, problems, close } = await open();
    try {
      await page.goto(`${harness.api.url}/console`);
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.getByRole('link', { name: 'Create an account' }).click();
      const email = `student-${Date.now()}@test.example`;
      await page.getByLabel('Name').fill('Sam Student');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Wallet' }).waitFor();

      await page.getByLabel('Amount to deposit').fill('50');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await page.getByText('Deposited $50.00.').waitFor();
      await expectText(page, '[data-testid=wallet-available]', '$50.00');

      await page.getByRole('link', { name: 'Find a class' }).click();
      await page.locator(`a[href="/console/teachers/${teacher.user.id}"]`).click();
      await page.getByRole('button', { name: 'Book Test class' }).click();
      const confirm = page.getByRole('group', { name: 'Confirm booking of Test class' });
      await confirm.getByText('$12.34 will be held from your wallet').waitFor();
      await confirm.getByText('available now: $50.00').waitFor();
      await confirm.getByRole('button', { name: 'Confirm booking' }).click();
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
      const bookingId = page.url().split('/').pop()!;
      assert.match(bookingId, /^[0-9a-f-]{36}$/);
      await expectText(page, '[data-testid=timeline] li.done', 'Booked');
      assert.equal(await page.locator('[data-testid=timeline] li.done').count(), 1, 'only "Booked" is done');

      await page.getByRole('link', { name: 'Wallet' }).click();
      await expectText(page, '[data-testid=wallet-available]', '$37.66');
      await expectText(page, '[data-testid=wallet-held]', '$12.34');

      // The class opens (the workflow's timer fires in skipped time): the page follows live.
      await page.goto(`${harness.api.url}/console/bookings/${bookingId}`);
      const unread = page.getByTestId('unread-count');
      await unread.filter({ hasText: /^1$/ }).waitFor(); // "booking confirmed"
      await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 5 * MINUTE_MS));
      await untilPhase(harness, bookingId, 'open');
      await page.getByRole('heading', { name: 'The class is open' }).waitFor();
      // "class opening" arrived over the socket: the count moved without a reload.
      await unread.filter({ hasText: /^2$/ }).waitFor();
      // Joining: the class room page connects to LiveKit in the browser, and the
      // student's presence there (LiveKit's webhooks) is what attendance counts.
      await page.getByRole('link', { name: 'Join the class' }).click();
      await page.getByRole('heading', { name: 'Class room' }).waitFor();
      await page.getByRole('button', { name: 'Join the class' }).click();
      await page.getByTestId('room-status').getByText('You are in the class.').waitFor();
      const student = await studentOf(email);
      await livekit.waitForConnected(`meeting-${meeting.id}`, `user-${student}`);

      await attend(harness, meeting, teacher.user.id, 0, 60);
      await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
      await finishRoom(harness, meeting);
      assert.equal((await settled(harness, bookingId)).settlement, 'released');
      await page.getByTestId('room-status').getByText('The class has ended: its room was closed.').waitFor();

      // The notifications, in the student's terms, each with where to act on it.
      await page.getByRole('link', { name: /^Notifications/ }).click();
      const confirmedNote = page.locator('.notifications li', { hasText: 'Booking confirmed' });
      await confirmedNote.getByText('price $12.34').waitFor();
      const openNote = page.locator('.notifications li', { hasText: 'The class is open' });
      await openNote.getByText('“Test class”').waitFor();
      assert.equal(
        await openNote.getByRole('link', { name: 'Join the class' }).getAttribute('href'),
        `/console/bookings/${bookingId}/class`,
      );
      // Email can be turned off per category; the notifications stay.
      await page.getByRole('switch', { name: /^Bookings/ }).uncheck();
      await page.getByText('Saved. These notifications still appear here either way.').waitFor();
      const preferences = await harness.api
        .db('notification_preferences')
        .where({ user_id: student })
        .first();
      assert.deepEqual(
        [preferences?.bookings_email, preferences?.money_email],
        [false, true],
        JSON.stringify(preferences),
      );
      await confirmedNote.getByRole('link', { name: 'See the booking' }).click();
      await page.getByText('released (attended)').waitFor();
      assert.equal(new URL(page.url()).pathname, `/console/bookings/${bookingId}`);
      assert.equal(await page.locator('[data-testid=timeline] li.done').count(), 4, 'every step is done');

      await page.getByRole('link', { name: 'Wallet' }).click();
      const purchase = page.locator('[data-testid=statement] tr', { hasText: 'purchase' });
      await purchase.getByText('completed').waitFor();
      await purchase.getByText('-$12.34').waitFor();
      await expectText(page, '[data-testid=wallet-available]', '$37.66');
      await expectText(page, '[data-testid=wallet-held]', '$0.00');
      const wallet = await walletOf(harness.api, student);
      assert.equal(wallet.available, 3_766);

      // The statement's filters and its CSV, as the API gives them.
      const filters = page.getByRole('form', { name: 'Statement filters' });
      await filters.getByLabel('Type').selectOption('deposit');
      await filters.getByRole('button', { name: 'Apply filters' }).click();
      // The filtered list replaces the other (never shown under the new filter meanwhile).
      await page.locator('[data-testid=statement] tbody tr', { hasText: 'deposit' }).waitFor();
      assert.equal(await page.locator('[data-testid=statement] tbody tr').count(), 1, 'the deposit only');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        filters.getByRole('button', { name: 'Download CSV' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'statement.csv');
      const csv = fs
        .readFileSync(await download.path(), 'utf8')
        .trim()
        .split('\n');
      assert.equal(csv.length, 2, `a header and the deposit: ${csv.join(' | ')}`);
      assert.match(csv[1]!, /deposit/);
      await filters.getByLabel('Type').selectOption('');
      await filters.getByRole('button', { name: 'Apply filters' }).click();
      await page.locator('[data-testid=statement] tbody tr', { hasText: 'purchase' }).waitFor();
      await assertAccessible(page, 'the student wallet');
      await screenshot(page, 'student-wallet');
      assertClean(problems);
      await assertAuditClean(harness.api);
    } finally {
      await close();
    }
  });

  it('when a student cancels a booking a day ahead, then the page shows the full refund before confirming and the statement shows it after', async function () {
    if (browser === undefined) return httpOnly();
    const teacher = await register(harness.api, 'teacher');
    const student = await register(harness.api, 'student');
    await depositTo(harness.api, student, 2_000);
    const meeting = await publishSlot(harness, teacher, { price: 999 });
    const booking = await bookOk(harness, student, meeting.id);
    const { page, problems, close } = await open();
    try {
      await logIn(page, student.user.email);
      await page.getByRole('link', { name: 'My bookings' }).click();
      // Each booking says which class and with whom.
      const listed = page.getByTestId('bookings').locator('tbody tr').first();
      await listed.getByText('Test class').waitFor();
      await listed.getByText('Test teacher').waitFor();
      await listed.getByRole('link').click();
      await page.getByTestId('booking-who').getByText('“Test class” with Test teacher').waitFor();
      await page.getByRole('button', { name: 'Cancel this booking…' }).click();
      await page
        .getByTestId('cancel-preview')
        .getByText('Cancelling now (cancelled early) gives you back $9.99.')
        .waitFor();
      await assertAccessible(page, 'a booking being cancelled');
      await page.getByRole('button', { name: 'Confirm cancellation' }).click();
      await page.locator('[data-testid=timeline] li.done', { hasText: 'Cancelled' }).waitFor();
      assert.equal((await settled(harness, booking.id)).settlement, 'refunded');
      await page.getByText('refunded', { exact: true }).first().waitFor();
      await page.getByRole('link', { name: 'Wallet' }).click();
      const purchase = page.locator('[data-testid=statement] tr', { hasText: 'purchase' });
      await purchase.getByText('cancelled').waitFor();
      await expectText(page, '[data-testid=wallet-available]', '$20.00');
      assert.equal((await walletOf(harness.api, student.user.id)).available, 2_000);
      assertClean(problems);
      await assertAuditClean(harness.api);
    } finally {
      await close();
    }
  });

  it('when the late-cancellation boundary passes while the cancel form is open, then confirming is refused with the new terms shown, and confirming those cancels late', async function () {
    if (browser === undefined) return httpOnly();
    const teacher = await register(harness.api, 'teacher');
    const student = await register(harness.api, 'student');
    await depositTo(harness.api, student, 2_000);
    const meeting = await publishSlot(harness, teacher, {
      price: 1_000,
      startsInMs: 24 * 60 * MINUTE_MS + 5 * MINUTE_MS,
    });
    const booking = await bookOk(harness, student, meeting.id);
    const { page, problems, close } = await open();
    try {
      await logIn(page, student.user.email);
      await page.goto(`${harness.api.url}/console/bookings/${booking.id}`);
      await page.getByRole('button', { name: 'Cancel this booking…' }).click();
      const terms = page.getByTestId('cancel-preview');
      await terms.getByText('Cancelling now (cancelled early) gives you back $10.00.').waitFor();

      await harness.skip(10 * MINUTE_MS); // the form stays open past the boundary
      await page.getByRole('button', { name: 'Confirm cancellation' }).click();
      await page.getByRole('alert').getByText('The terms changed while this form was open').waitFor();
      await terms.getByText('Cancelling now (cancelled late) gives you back $5.00').waitFor();
      const row = await harness.api.db('bookings').where({ id: booking.id }).first();
      assert.equal(row.status, 'confirmed', 'nothing was cancelled on the terms no longer true');

      await page.getByRole('button', { name: 'Confirm cancellation' }).click();
      await page.locator('[data-testid=timeline] li.done', { hasText: 'Cancelled' }).waitFor();
      const outcome = await settled(harness, booking.id);
      assert.deepEqual([outcome.outcome, outcome.amounts?.refunded], ['cancelled_late', 500]);
      assertClean(problems);
    } finally {
      await close();
    }
  });

  it('when a statement has more lines than a page, then "More lines" appends the next page once, each line shown once', async function () {
    if (browser === undefined) return httpOnly();
    const student = await register(harness.api, 'student');
    for (let i = 1; i <= 25; i++) await depositTo(harness.api, student, 100 + i);
    const { page, problems, close } = await open();
    try {
      await logIn(page, student.user.email);
      const rows = page.locator('[data-testid=statement] tbody tr');
      await rows.nth(19).waitFor();
      assert.equal(await rows.count(), 20);
      await page.getByRole('button', { name: 'More lines' }).click();
      await rows.nth(24).waitFor();
      const amounts = await rows.locator('td:nth-child(5)').allInnerTexts();
      assert.equal(amounts.length, 25);
      assert.equal(new Set(amounts).size, 25, `each line once: ${amounts.join(' ')}`);
      assert.equal(
        await page.getByRole('button', { name: 'More lines' }).count(),
        0,
        'no page after the last',
      );
      assertClean(problems);
    } finally {
      await close();
    }
  });

  it('when a teacher publishes a slot, teaches it and withdraws, then the revenue chart shows the earnings and the withdrawal is pending', async function () {
    if (browser === undefined) return httpOnly();
    const { page, problems, close } = await open();
    try {
      await page.goto(`${harness.api.url}/console/register`);
      const email = `teacher-${Date.now()}@test.example`;
      await page.getByLabel('Name').fill('Tia Teacher');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByLabel('Teacher').check();
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'My classes' }).waitFor();

      // Two days on the virtual clock; the browser's inputs are in UTC (the context's zone).
      const startsAt = new Date(
        Math.ceil((harness.clock.now().getTime() + 2 * 24 * 60 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS,
      );
      const form = page.getByRole('form', { name: 'Publish a class' });
      await form.getByLabel('Title').fill('Algebra one-to-one');
      await form.getByLabel('Starts at').fill(startsAt.toISOString().slice(0, 16));
      await form.getByLabel('Minutes').fill('30');
      await form.getByLabel('Price').fill('50.01');
      await form.getByRole('button', { name: 'Publish' }).click();
      await form.getByText('Published:').waitFor();
      await page.getByTestId('my-classes').getByRole('link', { name: 'Algebra one-to-one' }).waitFor();

      const teacherId = await userIdOf(email);
      const meeting = (await harness.api.db('meetings').where({ teacher_id: teacherId }).first()) as {
        id: string;
      };
      const slot = {
        id: meeting.id,
        startsAt: startsAt.toISOString(),
        endsAt: new Date(startsAt.getTime() + 30 * MINUTE_MS).toISOString(),
      };
      const student = await register(harness.api, 'student');
      await depositTo(harness.api, student, 10_000);
      const booking = await bookOk(harness, student, meeting.id);
      await harness.skipTo(new Date(startsAt.getTime() - MINUTE_MS));
      await untilPhase(harness, booking.id, 'open');
      await attend(harness, slot, student.user.id, 0, 30);
      await attend(harness, slot, teacherId, 0, 30);
      await harness.skipTo(new Date(Date.parse(slot.endsAt)));
      await finishRoom(harness, slot);
      assert.equal((await settled(harness, booking.id)).settlement, 'released');

      // The meeting's page shows the booking with its attendance.
      await page.goto(`${harness.api.url}/console/meetings/${meeting.id}`);
      const booked = page.getByTestId('meeting-bookings').locator('tr', { hasText: '30 min 0 s (100%)' });
      await booked.getByRole('link', { name: 'Test student' }).waitFor(); // the student, by name

      // 50.01 at the default 30% teacher share, rounded down: 15.00.
      await page.getByRole('link', { name: 'Revenue' }).click();
      await expectText(page, '[data-testid=revenue-total]', '$15.00');
      await expectText(page, '[data-testid=revenue-available]', '$15.00');
      const bars = page.locator('[data-testid=earnings-chart] rect.bar');
      await eventually(async () => ((await bars.count()) > 0 ? true : undefined), 'the chart drawn');
      const tallest = await page
        .locator('[data-testid=earnings-chart] rect.bar title', { hasText: '$15.00' })
        .count();
      assert.equal(tallest, 1, 'one bar is the week of the class, at $15.00');
      await assertAccessible(page, 'the teacher revenue page');
      await screenshot(page, 'teacher-revenue');

      await page.getByRole('link', { name: 'Withdrawals' }).click();
      const withdrawal = page.getByRole('form', { name: 'Withdraw earnings' });
      await withdrawal.getByLabel('Amount').fill('12');
      await withdrawal.getByLabel('Account holder').fill('Tia Teacher');
      await withdrawal.getByLabel('IBAN or account number').fill('DE89 3704 0044 0532 0130 00');
      await withdrawal.getByLabel('Bank name (optional)').fill('Test Bank');
      await withdrawal.getByRole('button', { name: 'Request withdrawal' }).click();
      await withdrawal
        .getByRole('status')
        .getByText('Asked to withdraw $12.00 to the account ending 3000')
        .waitFor();
      const row = page.getByTestId('withdrawals').locator('tbody tr').first();
      await row.getByText('pending').waitFor();
      await row.getByText('····3000').waitFor();
      assert.equal(
        await withdrawal.getByLabel('IBAN or account number').inputValue(),
        '',
        'the account number is not kept',
      );
      const pageText = await page.locator('body').innerText();
      assert.ok(!pageText.includes('0532 0130'), 'the full account number is never shown back');
      await expectText(page, '[data-testid=withdrawable]', '$3.00');
      assertClean(problems);
      await assertAuditClean(harness.api);
    } finally {
      await close();
    }
  });

  it('when an admin resolves a review with the evidence drawn and approves and completes a withdrawal, then the workflows answer and money moves once', async function () {
    if (browser === undefined) return httpOnly();
    const admin = await createAdmin(harness.api);
    const teacher = await register(harness.api, 'teacher');
    const student = await register(harness.api, 'student');
    await depositTo(harness.api, student, 5_000);
    const meeting = await publishSlot(harness, teacher, { price: 3_000, durationMinutes: 60 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    // The student waits 45 minutes; the teacher never comes: a teacher no-show, sent to review.
    await attend(harness, meeting, student.user.id, 0, 45);
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await finishRoom(harness, meeting);
    await untilPhase(harness, booking.id, 'review');

    const { page, problems, close } = await open();
    try {
      await logIn(page, admin.user.email);
      await page.getByRole('heading', { name: 'Reviews' }).waitFor();
      // As the review-required email links it: this review first, whatever waits ahead of it.
      await page.goto(`${harness.api.url}/console/reviews?booking=${booking.id}`);
      const review = page.getByTestId('review').filter({ hasText: booking.id.slice(0, 8) });
      await review.getByText('Teacher no show').first().waitFor();
      // The student's 45 minutes are drawn as one bar on the class's time line; the teacher has none.
      const present = review.locator('[data-testid=evidence] rect.present');
      assert.equal(await review.locator('[data-testid=evidence] rect.present.student').count(), 1);
      assert.equal(await review.locator('[data-testid=evidence] rect.present.teacher').count(), 0);
      const width = Number(await present.first().getAttribute('width'));
      const track = Number(
        await review.locator('[data-testid=evidence] rect.track').first().getAttribute('width'),
      );
      assert.ok(Math.abs(width / track - 0.75) < 0.01, `45 of 60 minutes drawn (${width}/${track})`);
      await review.getByText('Student present 45 min 0 s (75%)').waitFor();
      assert.equal(
        await review.getByRole('link', { name: 'workflow' }).getAttribute('href'),
        `${TEMPORAL_UI_URL}/namespaces/default/workflows/booking-${booking.id}`,
      );
      await assertAccessible(page, 'the admin review queue');
      await screenshot(page, 'admin-review');

      await review.getByRole('button', { name: 'Refund the student' }).click();
      await page.getByRole('status').filter({ hasText: 'resolved: refunded (admin refund)' }).waitFor();
      await page.getByText('does not wait for a review (any more)').waitFor();
      assert.equal((await settled(harness, booking.id)).settlement, 'refunded');
      assert.equal((await walletOf(harness.api, student.user.id)).available, 5_000);

      // The teacher, paid for an earlier class, asks for a withdrawal; the admin approves and completes it.
      await earnThroughClass(teacher, 6_000);
      const asked = await harness.api.request('POST', '/api/v1/withdrawals', {
        token: teacher.token,
        body: {
          amount: 1_500,
          bankAccount: { holderName: 'Tom Teacher', iban: 'DE89 3704 0044 0532 0130 00' },
        },
      });
      assert.equal(asked.status, 201, asked.text);
      const withdrawalId = asked.body.id as string;
      await page.getByRole('link', { name: 'Withdrawals' }).click();
      const item = page.getByRole('article', { name: `Withdrawal ${withdrawalId.slice(0, 8)}` });
      await item.getByRole('button', { name: `Approve ${withdrawalId.slice(0, 8)}` }).click();
      await page.getByRole('status').filter({ hasText: 'is now processing' }).waitFor();
      await page.getByLabel('processing').check();
      await item.getByLabel('Bank transfer reference').fill('BANK-REF-42');
      await item.getByRole('button', { name: `Mark ${withdrawalId.slice(0, 8)} paid` }).click();
      await page
        .getByRole('status')
        .filter({ hasText: 'is now completed (reference BANK-REF-42)' })
        .waitFor();
      await withdrawalWorkflow(harness, withdrawalId).result();
      const row = (await harness.api.db('withdrawals').where({ id: withdrawalId }).first()) as {
        status: string;
      };
      assert.equal(row.status, 'completed');
      await assertAccessible(page, 'the admin withdrawal queue');
      assertClean(problems);
      await assertAuditClean(harness.api);
    } finally {
      await close();
    }
  });

  it('when a student tops up through Stripe Checkout, then Stripe sends them back to the return page, which shows the credit once the webhook has come', async function () {
    if (browser === undefined) return httpOnly();
    const student = await register(harness.api, 'student');
    const { page, problems, close } = await open();
    try {
      await logIn(page, student.user.email);
      // Stripe's payment page, played by the test: the customer pays, Stripe calls the
      // webhook, then sends the browser back to the success URL the app gave it.
      await page.route(`${stripe.url}/pay/**`, async (route) => {
        const sessionId = new URL(route.request().url()).pathname.split('/').pop()!;
        const session = stripe.session(sessionId);
        const { payload, header } = stripe.signedEvent(
          'checkout.session.completed',
          stripe.markPaid(sessionId),
        );
        const delivered = await harness.api.request('POST', '/api/v1/webhooks/stripe', {
          rawBody: payload,
          headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': header },
        });
        assert.equal(delivered.status, 200, delivered.text);
        const back = new URL(session.success_url.replace('{CHECKOUT_SESSION_ID}', sessionId));
        assert.equal(back.pathname, '/console/wallet/topups/success');
        await route.fulfill({
          status: 303,
          headers: { Location: `${harness.api.url}${back.pathname}${back.search}` },
        });
      });
      const form = page.getByRole('form', { name: 'Top up with a card' });
      await form.getByLabel('Amount').fill('25.50');
      await form.getByRole('button', { name: 'Pay with Stripe' }).click();
      await page.getByRole('heading', { name: 'Top-up' }).waitFor();
      await page.getByText('Paid: $25.50 is in your wallet.').waitFor();
      await page.getByRole('link', { name: 'Back to the wallet' }).click();
      await expectText(page, '[data-testid=wallet-available]', '$25.50');
      const deposit = page.locator('[data-testid=statement] tr', { hasText: 'deposit' });
      await deposit.getByText('$25.50').first().waitFor();
      assert.equal((await walletOf(harness.api, student.user.id)).available, 2_550);
      assertClean(problems);
    } finally {
      await close();
    }
  });

  async function userIdOf(email: string): Promise<string> {
    const row = (await harness.api.db('users').where({ email }).first()) as { id: string } | undefined;
    assert.ok(row, `no user ${email}`);
    return row.id;
  }

  async function studentOf(email: string): Promise<string> {
    return userIdOf(email);
  }

  /** Earnings the way teachers get them: a class attended in full. */
  async function earnThroughClass(teacher: Session, price: number): Promise<void> {
    const student = await register(harness.api, 'student');
    await depositTo(harness.api, student, price);
    const meeting = await publishSlot(harness, teacher, { price, durationMinutes: 30 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await attend(harness, meeting, student.user.id, 0, 30);
    await attend(harness, meeting, teacher.user.id, 0, 30);
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await finishRoom(harness, meeting);
    assert.equal((await settled(harness, booking.id)).settlement, 'released');
  }

  /** Without Chromium: the console's page and bundle are still served, under the policy. */
  async function httpOnly(): Promise<void> {
    noBrowser('the console journeys');
    const page = await fetch(`${harness.api.url}/console/wallet`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    const script = /src="(\/console\/assets\/console-[\w-]+\.js)"/.exec(html);
    assert.ok(script, 'the page links its script');
    const bundle = await fetch(`${harness.api.url}${script[1]}`);
    assert.equal(bundle.status, 200);
    assert.ok((await bundle.text()).length > 10_000, 'the bundle is built');
  }
});

async function expectText(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor();
}
