// The console's accessibility in Debian's Chromium, against the real app on
// real Postgres, a real worker and the dev server: axe-core, run in the page
// under the console's own policy, finds no serious or critical violation on
// any page of any role (a booking in each state a class walks through), and
// every form works with the keyboard alone: Tab and Shift+Tab to move,
// typing, Space and Enter; nothing is clicked and no field is filled.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createAdmin, depositTo } from '../support/api';
import {
  attend,
  bookOk,
  finishRoom,
  publishSlot,
  settled,
  untilPhase,
  type BookingHarness,
} from '../support/bookings';
import {
  assertAccessible,
  findChromium,
  launchChromium,
  noBrowser,
  watchedPage,
  type PageProblems,
} from '../support/browser';
import { consolePageOverHttp, logIn, registerNamed, tabTo, typeInto, PASSWORD } from '../support/console';
import { requireTimeSkipping } from '../support/devserver';
import { startBookingHarnessWithLiveKit, type LocalLiveKit } from '../support/livekit-server';
import { earn, withdrawOk } from '../support/withdrawals';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const chromiumPath = findChromium();

describe('web console: accessibility', function () {
  this.timeout(120_000);
  let harness: BookingHarness;
  let browser: Browser | undefined;
  let livekit: LocalLiveKit;

  before(async function () {
    // A dispute window: a student can dispute (a form) before the money is released.
    ({ harness, livekit } = await startBookingHarnessWithLiveKit(
      { DISPUTE_WINDOW_HOURS: '24' },
      { sockets: true },
    ));
    if (chromiumPath !== undefined) browser = await launchChromium(chromiumPath);
  });

  after(async function () {
    await browser?.close();
    await harness?.close();
    await livekit?.close();
  });

  it('when someone registers, logs out and logs in with the keyboard alone, then each step works, errors are announced, and the pages have no serious violation', async function () {
    if (browser === undefined) return overHttp('the login and register pages');
    await inPage(async (page) => {
      await page.goto(`${harness.api.url}/console/login`);
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await assertAccessible(page, 'the login page');

      await tabTo(page, page.getByRole('link', { name: 'Create an account' }));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Create an account' }).waitFor();
      await assertAccessible(page, 'the register page');
      const email = `keyboard-${Date.now()}@test.example`;
      await typeInto(page, page.getByLabel('Name'), 'Kim Keyboard');
      await typeInto(page, page.getByLabel('Email'), email);
      await typeInto(page, page.getByLabel('Password'), PASSWORD);
      await tabTo(page, page.getByRole('button', { name: 'Create account' }));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Wallet' }).waitFor();
      const user = await harness.api.db('users').where({ email }).first();
      assert.equal(user?.name, 'Kim Keyboard');
      assert.equal(user?.role, 'student', 'the role the form starts with');

      await tabTo(page, page.getByRole('button', { name: /^Log out Kim Keyboard/ }));
      await page.keyboard.press('Space');
      await page.getByRole('heading', { name: 'Log in' }).waitFor();

      // A wrong password: the error is announced, the form keeps the email, and is still usable.
      await typeInto(page, page.getByLabel('Email'), email);
      await typeInto(page, page.getByLabel('Password'), 'not the password');
      await page.keyboard.press('Enter');
      await page.getByRole('alert').waitFor();
      assert.equal(await page.getByLabel('Email').inputValue(), email);
      await assertAccessible(page, 'the login page with its error');
      await tabTo(page, page.getByLabel('Password'), { backwards: true });
      for (let i = 0; i < 'not the password'.length; i++) await page.keyboard.press('Backspace');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Wallet' }).waitFor();
    });
  });

  it('when a student walks a class from booked to settled, then the wallet, the catalogue, each booking state and the notifications have no serious violation, and the cancellation and the dispute are made with the keyboard', async function () {
    requireTimeSkipping(this, harness.env);
    const teacher = await registerNamed(harness.api, 'teacher', 'Tara Teacher');
    const student = await registerNamed(harness.api, 'student', 'Stan Student');
    const admin = await createAdmin(harness.api);
    await depositTo(harness.api, student, 10_000);
    const walked = await publishSlot(harness, teacher, { price: 1_000, startsInMs: 2 * DAY_MS });
    const cancelled = await publishSlot(harness, teacher, { price: 700, startsInMs: 4 * DAY_MS });
    await publishSlot(harness, teacher, { price: 900, startsInMs: 5 * DAY_MS });
    const course = await harness.api.request('POST', '/api/v1/courses', {
      token: teacher.token,
      body: {
        title: 'Spanish for travellers',
        description: 'Four weeks of phrases.',
        capacity: 4,
        pricePerSession: 500,
        sessions: [6, 13].map((days) => ({
          startsAt: minute(harness.clock.now().getTime() + days * DAY_MS),
          durationMinutes: 60,
        })),
      },
    });
    assert.equal(course.status, 201, course.text);
    const booking = await bookOk(harness, student, walked.id);
    const other = await bookOk(harness, student, cancelled.id);
    if (browser === undefined) return overHttp('the student pages');

    await inPage(async (page) => {
      await logIn(page, harness.api.url, student.user.email);
      await page.getByTestId('wallet-available').waitFor();
      await page.getByTestId('statement').waitFor();
      await assertAccessible(page, 'the wallet');

      await page.getByRole('link', { name: 'Find a class' }).click();
      await page.getByRole('link', { name: 'Tara Teacher' }).first().waitFor();
      await assertAccessible(page, 'find a class');
      await page.getByRole('link', { name: 'Tara Teacher' }).first().click();
      await page.getByRole('heading', { name: 'Upcoming classes by Tara Teacher' }).waitFor();
      await page.getByRole('link', { name: 'Spanish for travellers' }).waitFor();
      await assertAccessible(page, "a teacher's classes");
      await page.getByRole('button', { name: 'Book Test class', disabled: false }).first().click();
      await page
        .getByRole('group', { name: 'Confirm booking of Test class' })
        .getByText('available now')
        .waitFor();
      await assertAccessible(page, 'the booking confirmation');
      await page.getByRole('link', { name: 'Spanish for travellers' }).click();
      await page.getByRole('heading', { name: 'Spanish for travellers' }).waitFor();
      await assertAccessible(page, 'a course');

      await page.getByRole('link', { name: 'My bookings' }).click();
      await page.getByTestId('bookings').waitFor();
      await assertAccessible(page, 'my bookings');

      // Cancelling, with the keyboard alone: what it would refund is shown before confirming.
      await atBooking(page, other.id, 'Booked');
      await tabTo(page, page.getByRole('button', { name: 'Cancel this booking…' }));
      await page.keyboard.press('Enter');
      const cancelForm = page.getByRole('form', { name: 'Cancel the booking' });
      await cancelForm.getByTestId('cancel-preview').getByText('$7.00').waitFor();
      await assertAccessible(page, 'a confirmed booking with the cancellation asked');
      await typeInto(page, cancelForm.getByLabel('Reason (optional)'), 'Plans changed.');
      await page.keyboard.press('Enter');
      await page.getByTestId('timeline').getByText('Cancelled', { exact: true }).waitFor();
      const cancelledRow = await harness.api.db('bookings').where({ id: other.id }).first();
      assert.equal(cancelledRow?.status, 'cancelled');
      await assertAccessible(page, 'a cancelled booking');

      await atBooking(page, booking.id, 'Booked');
      await assertAccessible(page, 'a confirmed booking');

      await harness.skipTo(new Date(Date.parse(walked.startsAt) - 14 * MINUTE_MS));
      await untilPhase(harness, booking.id, 'open');
      await atBooking(page, booking.id, 'The class is open');
      await assertAccessible(page, 'an open booking');
      // The class room, with the keyboard alone: the token for another app, then in, microphone on, out.
      await tabTo(page, page.getByRole('link', { name: 'Join the class' }));
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Class room' }).waitFor();
      await assertAccessible(page, 'the class room');
      await tabTo(page, page.getByText('Join with another LiveKit app'));
      await page.keyboard.press('Enter');
      await tabTo(page, page.getByRole('button', { name: 'Get an access token' }));
      await page.keyboard.press('Enter');
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
      await tabTo(page, page.getByRole('button', { name: 'Copy access token' }));
      await page.keyboard.press('Enter');
      await page.getByRole('status').filter({ hasText: 'Copied.' }).waitFor();
      const copied = await page.evaluate(
        () => (globalThis as any).navigator.clipboard.readText() as Promise<string>,
      );
      assert.match(copied, JWT);
      // A browser with no clipboard for the page (served over plain HTTP to another host):
      // the page says so and shows the token to copy by hand.
      await page.evaluate(() =>
        Object.defineProperty((globalThis as any).navigator, 'clipboard', { value: undefined }),
      );
      await page.keyboard.press('Enter');
      await page.getByRole('alert').filter({ hasText: 'did not let the page copy the token' }).waitFor();
      assert.equal(await page.getByLabel('Access token').inputValue(), copied);
      await assertAccessible(page, 'the class room with the token to copy by hand');

      await tabTo(page, page.getByRole('button', { name: 'Join the class' }), { backwards: true });
      await page.keyboard.press('Enter');
      await page.getByTestId('room-status').getByText('You are in the class.').waitFor();
      await assertAccessible(page, 'the class room, joined');
      // The focus moved to the first control, not back to the page's start.
      await page.getByRole('button', { name: 'Turn microphone on' }).and(page.locator(':focus')).waitFor();
      await page.keyboard.press('Enter');
      await page.getByRole('button', { name: 'Turn microphone off' }).waitFor();
      await tabTo(page, page.getByRole('button', { name: 'Leave the class' }));
      await page.keyboard.press('Enter');
      await page.getByTestId('room-status').getByText('You left the class.').waitFor();
      await page.getByRole('button', { name: 'Join again' }).and(page.locator(':focus')).waitFor();

      await harness.skipTo(new Date(Date.parse(walked.endsAt)));
      await attend(harness, walked, teacher.user.id, 0, 60);
      await attend(harness, walked, student.user.id, 0, 60);
      await finishRoom(harness, walked);
      await untilPhase(harness, booking.id, 'dispute_window');
      await atBooking(page, booking.id, 'Something went wrong?');
      await assertAccessible(page, 'an attended booking in its dispute window');

      // The dispute, with the keyboard alone.
      await typeInto(page, page.getByLabel('What happened'), 'The sound dropped for half the class.');
      await tabTo(page, page.getByRole('button', { name: 'Open a dispute' }));
      await page.keyboard.press('Enter');
      await page.getByTestId('timeline').getByText('In review').waitFor();
      // Reached, and what it waits for is said; the settlement is the step not yet done.
      const inReview = page.locator('[data-testid=timeline] li', { hasText: 'In review' });
      assert.equal(await inReview.getAttribute('class'), 'done');
      assert.match((await inReview.textContent()) ?? '', /waiting for an admin's decision \(disputed\)/);
      assert.equal(
        await page.locator('[data-testid=timeline] li', { hasText: 'Settled' }).getAttribute('class'),
        'todo',
      );
      const row = await harness.api.db('bookings').where({ id: booking.id }).first();
      assert.equal(row?.status, 'requires_manual_review');
      await assertAccessible(page, 'a booking in review');

      const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
        token: admin.token,
        body: { decision: 'release' },
      });
      assert.equal(resolved.status, 200, resolved.text);
      assert.equal((await settled(harness, booking.id)).settlement, 'released');
      await atBooking(page, booking.id, /released \(/);
      await assertAccessible(page, 'a settled booking');

      await page.getByRole('link', { name: /^Notifications/ }).click();
      await page.locator('ul.notifications li').first().waitFor();
      await assertAccessible(page, 'the notifications');

      for (const [path, heading] of [
        ['/wallet/topups/success', 'Top-up'],
        ['/wallet/topups/cancelled', 'Top-up cancelled'],
        ['/no/such/page', 'Not found'],
      ] as const) {
        await page.goto(`${harness.api.url}/console${path}`);
        await page.getByRole('heading', { name: heading, exact: true }).waitFor();
        await assertAccessible(page, path);
      }
    });
  });

  it('when a student deposits and books with the keyboard alone, then the deposit and the booking are made once and shown', async function () {
    const teacher = await registerNamed(harness.api, 'teacher', 'Kai Keys');
    const student = await registerNamed(harness.api, 'student', 'Sol Student');
    const slot = await publishSlot(harness, teacher, { price: 1_250, startsInMs: 3 * DAY_MS });
    if (browser === undefined) return overHttp('the deposit and booking forms');
    await inPage(async (page) => {
      await logIn(page, harness.api.url, student.user.email);
      await page.getByTestId('wallet-available').waitFor();
      await typeInto(page, page.getByLabel('Amount to deposit'), '25');
      await page.keyboard.press('Enter');
      await page.getByRole('status').filter({ hasText: 'Deposited $25.00.' }).waitFor();
      await page.getByTestId('wallet-available').getByText('$25.00').waitFor();
      await assertAccessible(page, 'the wallet after a deposit');

      await page.goto(`${harness.api.url}/console/teachers/${teacher.user.id}`);
      await tabTo(page, page.getByRole('button', { name: 'Book Test class' }));
      await page.keyboard.press('Enter');
      const confirm = page.getByRole('group', { name: 'Confirm booking of Test class' });
      await confirm.getByText('$12.50 will be held').waitFor();
      // The next Tab, from where the Book button was, is on the confirmation's first button.
      await tabTo(page, confirm.getByRole('button', { name: 'Confirm booking' }), { max: 2 });
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
      await assertAccessible(page, 'a new booking');
    });
    const bookings = await harness.api.db('bookings').where({ student_id: student.user.id });
    assert.equal(bookings.length, 1);
    assert.equal(bookings[0].meeting_id, slot.id);
    const deposits = await harness.api
      .request('GET', '/api/v1/wallet/transactions?type=deposit', { token: student.token })
      .then((r) => r.body.data as { amount: number }[]);
    assert.deepEqual(
      deposits.map((d) => d.amount),
      [2_500],
    );
  });

  it('when a teacher publishes a class and a course, cancels a class and asks for a withdrawal with the keyboard alone, then each is made and shown, and the classes, a class, the revenue and the withdrawals have no serious violation', async function () {
    const teacher = await registerNamed(harness.api, 'teacher', 'Tess Tabber');
    const student = await registerNamed(harness.api, 'student', 'Ben Booker');
    await depositTo(harness.api, student, 5_000);
    const booked = await publishSlot(harness, teacher, { price: 1_000, startsInMs: 3 * DAY_MS });
    await bookOk(harness, student, booked.id);
    await earn(harness.api, teacher.user.id, 4_000);
    if (browser === undefined) return overHttp('the teacher pages');
    await inPage(async (page) => {
      await logIn(page, harness.api.url, teacher.user.email);
      await page.getByTestId('my-classes').getByRole('link', { name: 'Test class' }).waitFor();
      await assertAccessible(page, 'my classes');

      // Three days ahead on the API's clock, typed into the date field segment by segment (UTC).
      const startsAt = new Date(minute(harness.clock.now().getTime() + 3 * DAY_MS + 7 * MINUTE_MS));
      const form = page.getByRole('form', { name: 'Publish a class' });
      await typeInto(page, form.getByLabel('Title'), 'Keyboard chemistry');
      await tabTo(page, form.getByLabel('Starts at'));
      await page.keyboard.type(dateSegments(startsAt));
      await page.keyboard.press('Tab');
      await page.keyboard.type(timeSegments(startsAt));
      await typeInto(page, form.getByLabel('Price'), '12.50');
      await page.keyboard.press('Enter');
      await form.getByRole('status').filter({ hasText: 'Published:' }).waitFor();
      const published = await harness.api
        .db('meetings')
        .where({ teacher_id: teacher.user.id, title: 'Keyboard chemistry' });
      assert.equal(published.length, 1);
      assert.equal(new Date(published[0].starts_at).toISOString(), startsAt.toISOString());
      assert.equal(Number(published[0].price), 1_250);
      await assertAccessible(page, 'my classes after publishing');

      // A course of four weekly sessions (the form's defaults), typed likewise.
      const course = page.getByRole('form', { name: 'Publish a course' });
      await typeInto(page, course.getByLabel('Course title'), 'Keyboard physics');
      await typeInto(page, course.getByLabel('Description'), 'Forces, typed.');
      await tabTo(page, course.getByLabel('First session'));
      await page.keyboard.type(dateSegments(startsAt));
      await page.keyboard.press('Tab');
      await page.keyboard.type(timeSegments(startsAt));
      await typeInto(page, course.getByLabel('Price per session'), '8');
      await page.keyboard.press('Enter');
      await course
        .getByRole('status')
        .filter({ hasText: 'Published the course “Keyboard physics”' })
        .waitFor();
      const courseRow = await harness.api.db('courses').where({ teacher_id: teacher.user.id }).first();
      assert.equal(courseRow?.title, 'Keyboard physics');
      const sessions = await harness.api.db('meetings').where({ course_id: courseRow.id });
      assert.equal(sessions.length, 4);

      // Cancelling a booked class, with the keyboard alone.
      await page.goto(`${harness.api.url}/console/meetings/${booked.id}`);
      await page.getByTestId('meeting-bookings').waitFor();
      await assertAccessible(page, 'a class with its bookings');
      await tabTo(page, page.getByRole('button', { name: 'Cancel this class…' }));
      await page.keyboard.press('Enter');
      const cancel = page.getByRole('form', { name: 'Cancel the class' });
      await typeInto(page, cancel.getByLabel('Reason (optional)'), 'I am unwell.');
      await assertAccessible(page, 'a class with its cancellation asked');
      await page.keyboard.press('Enter');
      await page.getByTestId('meeting-bookings').getByText('cancelled').first().waitFor();
      const meetingRow = await harness.api.db('meetings').where({ id: booked.id }).first();
      assert.equal(meetingRow?.status, 'cancelled');

      await page.getByRole('link', { name: 'Revenue' }).click();
      await page.getByTestId('revenue-total').waitFor();
      await page.getByTestId('earnings-chart').waitFor();
      await assertAccessible(page, 'the revenue');

      await page.getByRole('link', { name: 'Withdrawals' }).click();
      await page.getByTestId('withdrawable').getByText('$40.00').waitFor();
      await assertAccessible(page, 'the withdrawals');
      const withdrawal = page.getByRole('form', { name: 'Withdraw earnings' });
      await typeInto(page, withdrawal.getByLabel('Amount'), '15');
      await typeInto(page, withdrawal.getByLabel('Account holder'), 'Tess Tabber');
      await typeInto(page, withdrawal.getByLabel('IBAN or account number'), 'DE89 3704 0044 0532 0130 00');
      await page.keyboard.press('Enter');
      await withdrawal.getByRole('status').filter({ hasText: 'account ending 3000' }).waitFor();
      await page.getByTestId('withdrawals').getByText('pending').waitFor();
      await assertAccessible(page, 'the withdrawals with one asked');
      const rows = await harness.api.db('withdrawals').where({ teacher_id: teacher.user.id });
      assert.equal(rows.length, 1);
      assert.equal(Number(rows[0].amount), 1_500);

      await page.getByRole('link', { name: /^Notifications/ }).click();
      await page.getByRole('heading', { name: 'Notifications' }).waitFor();
      await page.locator('[aria-busy=true]').first().waitFor({ state: 'detached' });
      await assertAccessible(page, "a teacher's notifications");
    });
  });

  it('when an admin resolves a review and rejects a withdrawal with the keyboard alone, then the workflows answer, and the queues have no serious violation', async function () {
    requireTimeSkipping(this, harness.env);
    const admin = await createAdmin(harness.api);
    const teacher = await registerNamed(harness.api, 'teacher', 'Nora No-show');
    const student = await registerNamed(harness.api, 'student', 'Pat Patient');
    await depositTo(harness.api, student, 5_000);
    const meeting = await publishSlot(harness, teacher, { price: 2_000, startsInMs: 2 * DAY_MS });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    // The student waits 45 minutes; the teacher never comes: a teacher no-show, sent to review.
    await attend(harness, meeting, student.user.id, 0, 45);
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await finishRoom(harness, meeting);
    await untilPhase(harness, booking.id, 'review');
    await earn(harness.api, teacher.user.id, 3_000);
    const asked = await withdrawOk(harness.api, teacher, 2_000);
    if (browser === undefined) return overHttp('the admin pages');

    await inPage(async (page) => {
      await logIn(page, harness.api.url, admin.user.email);
      // As the review-required email links it: this review first, whatever waits ahead of it.
      await page.goto(`${harness.api.url}/console/reviews?booking=${booking.id}`);
      const review = page.getByTestId('review').filter({ hasText: booking.id.slice(0, 8) });
      await review.getByTestId('evidence').waitFor();
      // The people, by name: the review is about them, not about ids.
      await review.getByText('by Nora No-show, booked by Pat Patient').waitFor();
      await assertAccessible(page, 'the review queue');

      // A partial refund of 25%: the percent field starts at 50.
      await tabTo(page, review.getByLabel('Refund percent'));
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('25');
      await page.keyboard.press('Enter');
      await page
        .getByRole('status')
        .filter({ hasText: 'The booking of Pat Patient with Nora No-show is resolved' })
        .waitFor();
      const outcome = await settled(harness, booking.id);
      assert.equal(outcome.settlement, 'partially_refunded');
      assert.equal(outcome.amounts?.refunded, 500);
      await assertAccessible(page, 'the review queue after a decision');

      await page.goto(`${harness.api.url}/console/bookings/${booking.id}`);
      await page.getByTestId('timeline').waitFor();
      await assertAccessible(page, 'a booking, as an admin');
      await page.goto(`${harness.api.url}/console/meetings/${meeting.id}`);
      await page.getByTestId('meeting-bookings').waitFor();
      await assertAccessible(page, 'a class, as an admin');

      await page.getByRole('link', { name: 'Withdrawals' }).click();
      const item = page.getByRole('article', { name: `Withdrawal ${asked.id.slice(0, 8)}` });
      await item.waitFor();
      await assertAccessible(page, 'the withdrawal queue');
      await typeInto(page, item.getByLabel('Reason for rejecting'), 'The account holder does not match.');
      await page.keyboard.press('Enter');
      await page.getByRole('status').filter({ hasText: 'is now rejected' }).waitFor();
      const row = await harness.api.db('withdrawals').where({ id: asked.id }).first();
      assert.equal(row?.status, 'rejected');
      await assertAccessible(page, 'the withdrawal queue after a rejection');
    });
  });

  it('when a student, a teacher and an admin use the console on a 390 px wide phone screen, then no page runs off its side', async function () {
    if (browser === undefined) return overHttp('a phone-sized screen');
    const student = await registerNamed(harness.api, 'student', 'Priya Phone-Screen Student');
    const teacher = await registerNamed(harness.api, 'teacher', 'Pat Phone-Screen Teacher');
    const admin = await createAdmin(harness.api);
    const pages: [string, string[]][] = [
      [
        student.user.email,
        ['/console/wallet', '/console/teachers', '/console/bookings', '/console/notifications'],
      ],
      [teacher.user.email, ['/console/classes', '/console/revenue', '/console/withdrawals']],
      [admin.user.email, ['/console/reviews', '/console/admin/withdrawals']],
    ];
    for (const [email, paths] of pages) {
      const { context, page, problems } = await watchedPage(browser, {
        viewport: { width: 390, height: 844 },
      });
      try {
        await page.goto(`${harness.api.url}/console/login`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('button', { name: /^Log out/ }).waitFor();
        for (const path of paths) {
          await page.goto(`${harness.api.url}${path}`);
          await page.getByRole('heading', { level: 1 }).waitFor();
          await page.locator('[aria-busy=true]').first().waitFor({ state: 'detached' });
          const width = await page.evaluate(
            () => (globalThis as any).document.documentElement.scrollWidth as number,
          );
          assert.ok(width <= 390, `${path} is ${width} px wide on a 390 px screen`);
        }
        assertClean(problems);
      } finally {
        await context.close();
      }
    }
  });

  // ---- helpers ---------------------------------------------------------------------

  async function inPage(use: (page: Page) => Promise<void>): Promise<void> {
    const { context, page, problems } = await watchedPage(browser!);
    try {
      await use(page);
      assertClean(problems);
    } finally {
      await context.close();
    }
  }

  /** Opens a booking's page and waits until `text` shows on it. */
  async function atBooking(page: Page, bookingId: string, text: string | RegExp): Promise<void> {
    await page.goto(`${harness.api.url}/console/bookings/${bookingId}`);
    await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
    await page.getByText(text).first().waitFor();
  }

  /** Without Chromium: the pages are served, under the policy, in English. */
  async function overHttp(what: string): Promise<void> {
    noBrowser(`axe-core and the keyboard on ${what}`);
    const { html } = await consolePageOverHttp(harness.api.url, '/console/login');
    assert.match(html, /<html lang="en"/, 'the page says its language');
    assert.match(html, /<title>[^<]+<\/title>/, 'the page has a title');
    assert.match(
      html,
      /name="viewport" content="width=device-width, initial-scale=1"/,
      'zoom is not blocked',
    );
  }
});

function assertClean(problems: PageProblems): void {
  assert.deepEqual(problems.errors, [], 'script errors');
  assert.deepEqual(problems.cspViolations, [], 'Content-Security-Policy violations');
}

/** On a whole minute, as ISO. */
function minute(ms: number): string {
  return new Date(Math.ceil(ms / MINUTE_MS) * MINUTE_MS).toISOString();
}

/** What a person types into a datetime-local field's date segments (en-US, UTC): MMDDYYYY. */
function dateSegments(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}${at.getUTCFullYear()}`;
}

/** And its time segments: hhmm and A or P. */
function timeSegments(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const hours = at.getUTCHours();
  return `${pad(hours % 12 === 0 ? 12 : hours % 12)}${pad(at.getUTCMinutes())}${hours < 12 ? 'A' : 'P'}`;
}
