// The class room in Debian's Chromium: the console's livekit-client joins the
// booking's room on a local LiveKit (test/support/livekit-server.ts: LiveKit's
// signalling protocol, a real WebRTC peer, the token verified with the API
// secret), whose presence webhooks reach the app as LiveKit's would, and whose
// rooms the workflow closes at finalisation.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import {
  attend,
  bookOk,
  eventually,
  finishRoom,
  publishSlot,
  settled,
  untilPhase,
  type BookingHarness,
} from '../support/bookings';
import { assertAccessible, findChromium, launchChromium, noBrowser, watchedPage } from '../support/browser';
import { consolePageOverHttp, cspDirectives, logIn, PASSWORD, registerNamed } from '../support/console';
import { depositTo } from '../support/api';
import { liveKitOrigins } from '../../api/console';
import { requireTimeSkipping } from '../support/devserver';
import { startBookingHarnessWithLiveKit, type LocalLiveKit } from '../support/livekit-server';

const MINUTE_MS = 60_000;
const chromiumPath = findChromium();

describe('web console: the class room', function () {
  this.timeout(180_000);
  let harness: BookingHarness;
  let livekit: LocalLiveKit;
  let browser: Browser | undefined;

  before(async function () {
    ({ harness, livekit } = await startBookingHarnessWithLiveKit({}, { sockets: true }));
    requireTimeSkipping(this, harness.env);
    if (chromiumPath !== undefined) browser = await launchChromium(chromiumPath);
  });

  after(async function () {
    await browser?.close();
    await harness?.close();
    await livekit?.close();
  });

  /** A teacher, a student and the student's booking of a one-hour class, opened. */
  async function openClass() {
    const teacher = await registerNamed(harness.api, 'teacher', 'Tess Teacher');
    const student = await registerNamed(harness.api, 'student', 'Sam Student');
    await depositTo(harness.api, student, 5_000);
    const meeting = await publishSlot(harness, teacher, { price: 1_000, durationMinutes: 60 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 10 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    return { teacher, student, meeting, booking, room: `meeting-${meeting.id}` };
  }

  async function inRoom(page: Page, email: string, bookingId: string): Promise<void> {
    await logIn(page, harness.api.url, email);
    await page.goto(`${harness.api.url}/console/bookings/${bookingId}`);
    await page.getByRole('link', { name: 'Join the class' }).click();
    await page.getByRole('heading', { name: 'Class room' }).waitFor();
    await page.getByRole('button', { name: 'Join the class' }).click();
    await page.getByTestId('room-status').getByText('You are in the class.').waitFor();
  }

  it('when the student and the teacher join the open class in their browsers, then each sees the other by name, the student turns the camera and microphone on and off, and leaving is reported to the app', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const { teacher, student, meeting, booking, room } = await openClass();
    const studentPage = await watchedPage(browser);
    const teacherPage = await watchedPage(browser);
    try {
      // The teacher goes in from the class-opening notification, through the class's own page.
      await logIn(teacherPage.page, harness.api.url, teacher.user.email);
      await teacherPage.page.getByRole('link', { name: /^Notifications/ }).click();
      const opening = teacherPage.page.locator('.notifications li', { hasText: 'The class is open' });
      await opening.getByRole('link', { name: 'Join the class' }).click();
      await teacherPage.page.waitForURL(`**/console/meetings/${meeting.id}`);
      await teacherPage.page.getByRole('link', { name: 'Join the class' }).click();
      // The class's own room (GET /meetings/:id/join), not one student's booking.
      await teacherPage.page.waitForURL(`**/console/meetings/${meeting.id}/class`);
      const asked = teacherPage.page.waitForRequest(`**/api/v1/meetings/${meeting.id}/join`);
      await teacherPage.page.getByRole('button', { name: 'Join the class' }).click();
      await asked;
      await teacherPage.page.getByTestId('room-status').getByText('You are in the class.').waitFor();
      await livekit.waitForConnected(room, `user-${teacher.user.id}`);
      await inRoom(studentPage.page, student.user.email, booking.id);
      const joined = await livekit.waitForConnected(room, `user-${student.user.id}`);
      assert.equal(joined.name, 'Sam Student', 'the token carries the person’s name');

      // The student sees the teacher who was already there; the teacher sees the student arrive.
      const people = studentPage.page.getByTestId('room-people');
      await people.getByText('Sam Student (you)').waitFor();
      await people.getByText('Tess Teacher (teacher)').waitFor();
      await teacherPage.page.getByTestId('room-people').getByText('Sam Student').waitFor();
      await assertAccessible(studentPage.page, 'the class room, joined');

      await studentPage.page.getByRole('button', { name: 'Turn camera on' }).click();
      await studentPage.page.getByRole('button', { name: 'Turn microphone on' }).click();
      await studentPage.page.getByRole('button', { name: 'Turn microphone off' }).waitFor();
      await studentPage.page.getByRole('button', { name: 'Turn camera off' }).waitFor();
      const mine = people.locator('li', { hasText: 'Sam Student (you)' });
      await mine.getByText('microphone on, camera on').waitFor();
      await mine.locator('video').waitFor(); // the camera's own picture
      assert.deepEqual([...joined.published].sort(), ['audio', 'video'], 'both tracks reached LiveKit');
      await studentPage.page.getByRole('button', { name: 'Turn camera off' }).click();
      await mine.getByText('microphone on, camera off').waitFor();

      await studentPage.page.getByRole('button', { name: 'Leave the class' }).click();
      await studentPage.page.getByTestId('room-status').getByText('You left the class.').waitFor();
      await livekit.waitForLeft(room, `user-${student.user.id}`);
      await studentPage.page.getByRole('button', { name: 'Join again' }).waitFor();
      await teacherPage.page
        .getByTestId('room-people')
        .getByText('Sam Student')
        .waitFor({ state: 'detached' });

      // What the browser did is what the booking records: the student's join and leave, from LiveKit.
      const recorded = await eventually(async () => {
        const events = await harness.api
          .db('livekit_events')
          .where({ room_name: room, identity: `user-${student.user.id}` });
        const kinds = events.map((e: { event: string }) => e.event).sort();
        return kinds.length === 2 ? kinds : undefined;
      }, 'the student’s join and leave recorded');
      assert.deepEqual(recorded, ['participant_joined', 'participant_left']);
      assert.deepEqual(livekit.webhookFailures, []);
      for (const { problems } of [studentPage, teacherPage]) {
        assert.deepEqual(problems.errors, [], 'script errors');
        assert.deepEqual(problems.cspViolations, [], 'Content-Security-Policy violations');
      }
    } finally {
      await studentPage.context.close();
      await teacherPage.context.close();
    }
  });

  it('when the student stays in the room until the class is finalised, then that presence is the attendance, the money is released, the room is closed and the page says the class has ended', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const { teacher, student, meeting, booking, room } = await openClass();
    const { context, page, problems } = await watchedPage(browser);
    try {
      await inRoom(page, student.user.email, booking.id);
      await livekit.waitForConnected(room, `user-${student.user.id}`);
      await attend(harness, meeting, teacher.user.id, 0, 60);
      await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
      await finishRoom(harness, meeting);
      // Joined ten minutes before the start and never left: the whole class.
      assert.equal((await settled(harness, booking.id)).settlement, 'released');
      const row = await harness.api.db('bookings').where({ id: booking.id }).first();
      assert.equal(row.attendance.percent, 100, JSON.stringify(row.attendance));
      await page.getByTestId('room-status').getByText('The class has ended: its room was closed.').waitFor();
      assert.deepEqual(
        livekit.deletedRooms.filter((r) => r === room),
        [room],
      );
      // LiveKit then reports the student gone and the room finished; the app takes both.
      await eventually(async () => {
        const kinds = await harness.api.db('livekit_events').where({ room_name: room }).pluck('event');
        return kinds.filter((k: string) => k === 'room_finished').length === 2 ? kinds : undefined;
      }, 'the room finished twice: the test’s webhook and LiveKit’s after DeleteRoom');
      assert.deepEqual(livekit.webhookFailures, []);
      assert.deepEqual(problems.errors, [], 'script errors');
    } finally {
      await context.close();
    }
  });

  it('when the student follows the class-opening email’s link logged out, then logging in lands in the class room, and a next page outside the console is ignored', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const { student, booking } = await openClass();
    const opening = await eventually(
      () =>
        harness.api.db('notifications').where({ user_id: student.user.id, type: 'class_opening' }).first(),
      'the class-opening notification',
    );
    const link = new URL(opening.payload.joinUrl);
    assert.equal(link.pathname, `/console/bookings/${booking.id}/class`);
    const { context, page } = await watchedPage(browser);
    try {
      await page.goto(`${harness.api.url}${link.pathname}`);
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.getByLabel('Email').fill(student.user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Class room' }).waitFor();
      assert.equal(new URL(page.url()).pathname, link.pathname);

      for (const hostile of ['//evil.example/x', 'https://evil.example/', '/../../api/v1/wallet']) {
        await page.getByRole('button', { name: /^Log out/ }).click();
        await page.goto(`${harness.api.url}/console/login?next=${encodeURIComponent(hostile)}`);
        await page.getByLabel('Email').fill(student.user.email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('heading', { name: 'Wallet' }).waitFor();
        assert.equal(page.url(), `${harness.api.url}/console/wallet`, hostile);
      }
    } finally {
      await context.close();
    }
  });

  it('when LiveKit refuses the token, then the page says why and offers to join again, and nothing else is lost', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const { student, booking, room } = await openClass();
    const { context, page } = await watchedPage(browser);
    try {
      livekit.refuseJoins('token expired');
      await logIn(page, harness.api.url, student.user.email);
      await page.goto(`${harness.api.url}/console/bookings/${booking.id}/class`);
      await page.getByRole('button', { name: 'Join the class' }).click();
      await page.getByText('The class room refused the access token').waitFor();
      livekit.refuseJoins(null);
      await page.getByRole('button', { name: 'Join again' }).click();
      await page.getByTestId('room-status').getByText('You are in the class.').waitFor();
      await livekit.waitForConnected(room, `user-${student.user.id}`);
    } finally {
      await context.close();
    }
  });

  it('when the person leaves the class room page while joining, then they are not left in the room: neither while the token is fetched nor while LiveKit answers', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const { student, booking, room } = await openClass();
    const identity = `user-${student.user.id}`;
    const { context, page } = await watchedPage(browser);
    // Moving between the pages inside the console (no reload, which would close every socket).
    const toClassRoom = async () => {
      await page.getByRole('link', { name: 'Join the class' }).click();
      await page.getByRole('heading', { name: 'Class room' }).waitFor();
    };
    const toBooking = async () => {
      await page.getByRole('link', { name: '← The booking' }).click();
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
    };
    try {
      await logIn(page, harness.api.url, student.user.email);
      await page.goto(`${harness.api.url}/console/bookings/${booking.id}`);

      // 1. The token's request is on its way when the person leaves.
      let answer!: () => void;
      const answered = new Promise<void>((resolve) => (answer = resolve));
      await page.route('**/api/v1/bookings/*/join', async (route) => {
        await answered;
        await route.continue();
      });
      await toClassRoom();
      const asked = page.waitForRequest('**/api/v1/bookings/*/join');
      await page.getByRole('button', { name: 'Join the class' }).click();
      await asked;
      await toBooking();
      const delivered = page.waitForEvent('requestfinished', (r) => r.url().endsWith('/join'));
      answer();
      await delivered;
      await page.unroute('**/api/v1/bookings/*/join');

      // 2. LiveKit has not answered the join yet when the person leaves.
      const release = livekit.holdJoins();
      await toClassRoom();
      await page.getByRole('button', { name: 'Join the class' }).click();
      await page.getByTestId('room-status').getByText('Joining the class…').waitFor();
      await toBooking();
      release();

      // Joining now is the one connection: an earlier attempt that had gone on to
      // connect would still be in the room, and this join would push it out.
      await toClassRoom();
      await page.getByRole('button', { name: 'Join the class' }).click();
      await page.getByTestId('room-status').getByText('You are in the class.').waitFor();
      const sessions = livekit.participants.filter((p) => p.room === room && p.identity === identity);
      assert.deepEqual(
        sessions.map((p) => [p.left, p.pushedOut]),
        [...sessions.slice(1).map(() => [true, null]), [false, null]],
        `only the last join is in the room, and no earlier one was there to be pushed out: ${JSON.stringify(sessions)}`,
      );
    } finally {
      await context.close();
    }
  });

  it('when the student joins again from a second tab, then the first tab says why it left', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const { student, booking, room } = await openClass();
    const { context, page } = await watchedPage(browser);
    try {
      await logIn(page, harness.api.url, student.user.email);
      const classRoom = `${harness.api.url}/console/bookings/${booking.id}/class`;
      await page.goto(classRoom);
      await page.getByRole('button', { name: 'Join the class' }).click();
      await page.getByTestId('room-status').getByText('You are in the class.').waitFor();
      // A second tab of the same browser: its own session (tab storage), the same person.
      const second = await context.newPage();
      await logIn(second, harness.api.url, student.user.email);
      await second.goto(classRoom);
      await second.getByRole('button', { name: 'Join the class' }).click();
      await second.getByTestId('room-status').getByText('You are in the class.').waitFor();
      await page
        .getByTestId('room-status')
        .getByText('You joined this class from another window or device, so this one left.')
        .waitFor();
      const live = livekit.participants.filter((p) => p.room === room && !p.left);
      assert.equal(live.length, 1, JSON.stringify(live));
    } finally {
      await context.close();
    }
  });

  it('when the class has not opened yet, then the class room says when it opens and joins nothing', async function () {
    if (browser === undefined) return noBrowser('the class room');
    const teacher = await registerNamed(harness.api, 'teacher', 'Tess Teacher');
    const student = await registerNamed(harness.api, 'student', 'Sam Student');
    await depositTo(harness.api, student, 5_000);
    const meeting = await publishSlot(harness, teacher, { price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    const { context, page } = await watchedPage(browser);
    try {
      await logIn(page, harness.api.url, student.user.email);
      await page.goto(`${harness.api.url}/console/bookings/${booking.id}/class`);
      await page.getByRole('button', { name: 'Join the class' }).click();
      await page
        .getByRole('alert')
        .getByText(/the class opens at/)
        .waitFor();
      assert.equal(
        livekit.participants.filter((p) => p.room === `meeting-${meeting.id}`).length,
        0,
        'no one joined',
      );
    } finally {
      await context.close();
    }
  });

  it('when the console is served, then its policy lets the page connect to this origin and the configured LiveKit only', async function () {
    const { csp } = await consolePageOverHttp(harness.api.url, '/console/bookings/x/class');
    const port = new URL(livekit.url).port;
    assert.deepEqual(cspDirectives(csp).get('connect-src'), [
      "'self'",
      `ws://127.0.0.1:${port}`,
      `http://127.0.0.1:${port}`,
    ]);
  });
});

describe('web console: the policy’s LiveKit sources', () => {
  it('when LIVEKIT_URL has a port and a path, then connect-src names its host and port under both schemes, secure or not', () => {
    assert.deepEqual(liveKitOrigins('wss://lk.example.com:8443/base/'), [
      'wss://lk.example.com:8443',
      'https://lk.example.com:8443',
    ]);
    assert.deepEqual(liveKitOrigins('http://127.0.0.1:7880'), [
      'ws://127.0.0.1:7880',
      'http://127.0.0.1:7880',
    ]);
  });

  it('when LIVEKIT_URL is on LiveKit Cloud, then every host of its domain is allowed (the client fails over to region hosts)', () => {
    assert.deepEqual(liveKitOrigins('wss://project-x1.livekit.cloud'), [
      'wss://project-x1.livekit.cloud',
      'https://project-x1.livekit.cloud',
      'wss://*.livekit.cloud',
      'https://*.livekit.cloud',
    ]);
  });
});
