// The console when the network or the API lets it down, in Debian's
// Chromium, against the real app on real Postgres, a real worker and the dev
// server: an API that is down or slower than the console's 15 s deadline
// shows an error the person can act on and the form keeps what was typed; a
// double click on a money button sends one request; every money POST carries
// an Idempotency-Key, and a retry after a lost answer reuses it, so money
// moves once. Requests are cut or held with playwright's page.route, and the
// page's own time is moved with page.clock: nothing here sleeps.
import assert from 'node:assert/strict';
import type { Browser, Page, Request, Route } from 'playwright-core';
import type { Session } from '../support/api';
import { publishSlot, startBookingHarness, type BookingHarness } from '../support/bookings';
import {
  assertAccessible,
  findChromium,
  launchChromium,
  noBrowser,
  watchedPage,
  type PageProblems,
} from '../support/browser';
import { logIn, PASSWORD, registerNamed } from '../support/console';
import { earn } from '../support/withdrawals';

const DAY_MS = 24 * 60 * 60_000;
const IBAN = 'DE89 3704 0044 0532 0130 00';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The POSTs that move money, which the API makes idempotent. */
const MONEY_POST = /\/api\/v1\/(wallet\/deposit|wallet\/topups|bookings|courses\/[^/]+\/enroll|withdrawals)$/;
const chromiumPath = findChromium();

describe('web console: resilience', function () {
  this.timeout(120_000);
  let harness: BookingHarness;
  let browser: Browser | undefined;

  before(async function () {
    harness = await startBookingHarness({}, { sockets: true });
    if (chromiumPath !== undefined) browser = await launchChromium(chromiumPath);
  });

  after(async function () {
    await browser?.close();
    await harness?.close();
  });

  it('when the API cannot be reached, then logging in, loading the wallet and depositing say so in an alert, keep what was typed, and work once it is back', async function () {
    const student = await registerNamed(harness.api, 'student', 'Dee Down');
    if (browser === undefined) return overHttp('the API-down messages');
    await inPage(async (page) => {
      await page.goto(`${harness.api.url}/console/login`);
      await page.route('**/api/v1/auth/login', (route) => route.abort('connectionrefused'));
      await page.getByLabel('Email').fill(student.user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor();
      assert.equal(await page.getByLabel('Email').inputValue(), student.user.email);
      assert.equal(await page.getByLabel('Password').inputValue(), PASSWORD);
      await page.unroute('**/api/v1/auth/login');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Wallet' }).waitFor();
      await page.getByTestId('wallet-available').waitFor();

      // The wallet cannot load: the page says why and offers to try again.
      await page.route('**/api/v1/wallet', (route) => route.abort('connectionrefused'));
      await page.reload();
      const down = page.getByRole('alert').filter({ hasText: 'The server cannot be reached' });
      await down.waitFor();
      await page.unroute('**/api/v1/wallet');
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.getByTestId('wallet-available').getByText('$0.00').waitFor();
      await down.waitFor({ state: 'detached' });

      await page.route('**/api/v1/wallet/deposit', (route) => route.abort('connectionrefused'));
      await page.getByLabel('Amount to deposit').fill('30');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await page.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor();
      assert.equal(await page.getByLabel('Amount to deposit').inputValue(), '30', 'the amount is kept');
      assert.deepEqual(await depositAmounts(student), [], 'nothing was deposited');
      await page.unroute('**/api/v1/wallet/deposit');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await page.getByRole('status').filter({ hasText: 'Deposited $30.00.' }).waitFor();
      assert.equal(await page.getByRole('alert').count(), 0, 'the error is gone');
    });
    assert.deepEqual(await depositAmounts(student), [3_000]);
  });

  it('when the session expires while a form is filled, then a dialog logs the same person in again over the page, the form keeps what was typed, and the retry deposits once', async function () {
    const student = await registerNamed(harness.api, 'student', 'Ed Expired');
    if (browser === undefined) return overHttp('the expired-session dialog');
    // The API's own answer to a token it no longer accepts, replayed for one request.
    const refused = await harness.api.request('POST', '/api/v1/wallet/deposit', {
      token: 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.expired',
      body: { amount: 1 },
    });
    assert.equal(refused.status, 401, refused.text);
    await inPage(async (page) => {
      await logIn(page, harness.api.url, student.user.email);
      await page.getByTestId('wallet-available').waitFor();
      await page.route(
        '**/api/v1/wallet/deposit',
        (route) => route.fulfill({ status: 401, json: refused.body }),
        {
          times: 1,
        },
      );
      await page.getByLabel('Amount to deposit').fill('42');
      await page.getByRole('button', { name: 'Deposit' }).click();
      const dialog = page.getByRole('dialog', { name: 'Log in again' });
      await dialog.getByText('Your session has ended').waitFor();
      assert.equal(await dialog.getByLabel('Email').inputValue(), student.user.email);
      await assertAccessible(page, 'the log-in-again dialog');
      await dialog.getByLabel('Password').fill(PASSWORD);
      await dialog.getByRole('button', { name: 'Log in' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await page.getByLabel('Amount to deposit').inputValue(), '42', 'the amount is kept');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await page.getByRole('status').filter({ hasText: 'Deposited $42.00.' }).waitFor();
    });
    assert.deepEqual(await depositAmounts(student), [4_200]);
  });

  it('when the API answers a withdrawal later than the 15 s deadline, then the form says so, keeps every field, and the retry reuses the key so one withdrawal is made', async function () {
    const teacher = await registerNamed(harness.api, 'teacher', 'Sam Slow');
    await earn(harness.api, teacher.user.id, 5_000);
    if (browser === undefined) return overHttp('the deadline message');
    await inPage(async (page, posts) => {
      // The page's clock is ours: the console's deadline passes when the test says so.
      await page.clock.install();
      await logIn(page, harness.api.url, teacher.user.email);
      await page.getByRole('link', { name: 'Withdrawals' }).click();
      await page.getByTestId('withdrawable').getByText('$50.00').waitFor();

      // The server does the work, but its answer is held past the deadline.
      const held = holdAnswers(page, '**/api/v1/withdrawals');
      const form = page.getByRole('form', { name: 'Withdraw earnings' });
      const typed = {
        Amount: '12.34',
        'Account holder': 'Sam Slow',
        'IBAN or account number': IBAN,
        'Bank name (optional)': 'Slow Bank',
      };
      for (const [label, value] of Object.entries(typed)) await form.getByLabel(label).fill(value);
      await form.getByRole('button', { name: 'Request withdrawal' }).click();
      await held.answered();
      await page.clock.fastForward(15_001);
      await form
        .getByRole('alert')
        .filter({ hasText: 'The server did not answer within 15 seconds' })
        .waitFor();
      for (const [label, value] of Object.entries(typed))
        assert.equal(await form.getByLabel(label).inputValue(), value, `${label} is kept`);
      await held.release();
      await page.unroute('**/api/v1/withdrawals');

      await form.getByRole('button', { name: 'Request withdrawal' }).click();
      await form.getByRole('status').filter({ hasText: 'Asked to withdraw $12.34' }).waitFor();
      const sent = posts.filter((post) => post.url.endsWith('/api/v1/withdrawals'));
      assert.equal(sent.length, 2, 'the first try and the retry');
      assert.match(sent[0]!.key ?? '', UUID);
      assert.equal(sent[1]!.key, sent[0]!.key, 'the retry carries the same Idempotency-Key');
    });
    const rows = await harness.api.db('withdrawals').where({ teacher_id: teacher.user.id });
    assert.equal(rows.length, 1, 'one withdrawal');
    assert.equal(Number(rows[0].amount), 1_234);
  });

  it('when the answer to a deposit or a booking is lost and the person clicks again, then the retry carries the same key and the money moves once', async function () {
    const teacher = await registerNamed(harness.api, 'teacher', 'Lou Lost');
    const student = await registerNamed(harness.api, 'student', 'Ria Retry');
    const slot = await publishSlot(harness, teacher, { price: 1_500, startsInMs: 2 * DAY_MS });
    if (browser === undefined) return overHttp('the lost-answer retry');
    await inPage(async (page, posts) => {
      await logIn(page, harness.api.url, student.user.email);
      await page.getByTestId('wallet-available').waitFor();

      await loseFirstAnswer(page, '**/api/v1/wallet/deposit');
      await page.getByLabel('Amount to deposit').fill('40');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await page.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor();
      assert.deepEqual(await depositAmounts(student), [4_000], 'the server did deposit');
      await page.getByRole('button', { name: 'Deposit' }).click();
      await page.getByRole('status').filter({ hasText: 'Deposited $40.00.' }).waitFor();
      await page.getByTestId('wallet-available').getByText('$40.00').waitFor();

      await page.goto(`${harness.api.url}/console/teachers/${teacher.user.id}`);
      await page.getByRole('button', { name: 'Book Test class' }).click();
      const confirm = page.getByRole('group', { name: 'Confirm booking of Test class' });
      await loseFirstAnswer(page, '**/api/v1/bookings');
      await confirm.getByRole('button', { name: 'Confirm booking' }).click();
      await confirm.getByRole('alert').filter({ hasText: 'The server cannot be reached' }).waitFor();
      await confirm.getByRole('button', { name: 'Confirm booking' }).click();
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();

      for (const path of ['/api/v1/wallet/deposit', '/api/v1/bookings']) {
        const sent = posts.filter((post) => post.url.endsWith(path));
        assert.equal(sent.length, 2, `${path}: the lost try and the retry`);
        assert.match(sent[0]!.key ?? '', UUID, path);
        assert.equal(sent[1]!.key, sent[0]!.key, `${path}: the retry carries the same Idempotency-Key`);
        assert.equal(
          sent[1]!.replayed,
          'true',
          `${path}: the server answered the retry with the first answer`,
        );
      }
    });
    assert.deepEqual(await depositAmounts(student), [4_000], 'one deposit');
    const bookings = await harness.api.db('bookings').where({ student_id: student.user.id });
    assert.equal(bookings.length, 1, 'one booking');
    assert.equal(bookings[0].meeting_id, slot.id);
    const wallet = await harness.api.request('GET', '/api/v1/wallet', { token: student.token });
    assert.deepEqual([wallet.body.available, wallet.body.held], [2_500, 1_500], 'one price held');
  });

  it('when Deposit, Confirm booking and Request withdrawal are double-clicked, then each double click sends one request and makes one deposit, booking or withdrawal', async function () {
    const teacher = await registerNamed(harness.api, 'teacher', 'Dot Double');
    const student = await registerNamed(harness.api, 'student', 'Cal Clicker');
    await publishSlot(harness, teacher, { price: 1_000, startsInMs: 2 * DAY_MS });
    await earn(harness.api, teacher.user.id, 5_000);
    if (browser === undefined) return overHttp('the double click');
    await inPage(async (page, posts) => {
      await logIn(page, harness.api.url, student.user.email);
      await page.getByTestId('wallet-available').waitFor();
      await page.getByLabel('Amount to deposit').fill('20');
      await doubleClickWhileInFlight(
        page,
        '**/api/v1/wallet/deposit',
        page.getByRole('button', { name: 'Deposit' }),
      );
      await page.getByRole('status').filter({ hasText: 'Deposited $20.00.' }).waitFor();
      // Faster than any hand: two clicks in one task, before React has drawn the button disabled.
      await page.getByLabel('Amount to deposit').fill('15');
      await doubleClickWhileInFlight(
        page,
        '**/api/v1/wallet/deposit',
        page.getByRole('button', { name: 'Deposit' }),
        'in one task',
      );
      await page.getByRole('status').filter({ hasText: 'Deposited $15.00.' }).waitFor();

      await page.goto(`${harness.api.url}/console/teachers/${teacher.user.id}`);
      await page.getByRole('button', { name: 'Book Test class' }).click();
      await doubleClickWhileInFlight(
        page,
        '**/api/v1/bookings',
        page.getByRole('button', { name: 'Confirm booking' }),
      );
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
      assert.equal(
        posts.filter((p) => p.url.endsWith('/api/v1/wallet/deposit')).length,
        2,
        'one request per double click',
      );
      assert.equal(posts.filter((p) => p.url.endsWith('/api/v1/bookings')).length, 1, 'one booking request');
    });
    await inPage(async (page, posts) => {
      await logIn(page, harness.api.url, teacher.user.email);
      await page.getByRole('link', { name: 'Withdrawals' }).click();
      const form = page.getByRole('form', { name: 'Withdraw earnings' });
      await form.getByLabel('Amount').fill('10');
      await form.getByLabel('Account holder').fill('Dot Double');
      await form.getByLabel('IBAN or account number').fill(IBAN);
      await doubleClickWhileInFlight(
        page,
        '**/api/v1/withdrawals',
        form.getByRole('button', { name: 'Request withdrawal' }),
      );
      await form.getByRole('status').filter({ hasText: 'Asked to withdraw $10.00' }).waitFor();
      assert.equal(
        posts.filter((p) => p.url.endsWith('/api/v1/withdrawals')).length,
        1,
        'one withdrawal request',
      );
    });
    assert.deepEqual(await depositAmounts(student), [1_500, 2_000], 'one deposit per double click');
    assert.equal(
      (await harness.api.db('bookings').where({ student_id: student.user.id })).length,
      1,
      'one booking',
    );
    assert.equal(
      (await harness.api.db('withdrawals').where({ teacher_id: teacher.user.id })).length,
      1,
      'one withdrawal',
    );
  });

  it('when a student deposits, books and enrols, then every money POST carries its own Idempotency-Key', async function () {
    const teacher = await registerNamed(harness.api, 'teacher', 'Kit Keys');
    const student = await registerNamed(harness.api, 'student', 'Ivy Idem');
    await publishSlot(harness, teacher, { price: 800, startsInMs: 2 * DAY_MS });
    const firstSession = Math.ceil((harness.clock.now().getTime() + 3 * DAY_MS) / 60_000) * 60_000;
    const course = await harness.api.request('POST', '/api/v1/courses', {
      token: teacher.token,
      body: {
        title: 'Idempotent Italian',
        capacity: 3,
        pricePerSession: 600,
        sessions: [0, 7].map((days) => ({
          startsAt: new Date(firstSession + days * DAY_MS).toISOString(),
          durationMinutes: 45,
        })),
      },
    });
    assert.equal(course.status, 201, course.text);
    if (browser === undefined) return overHttp('the Idempotency-Keys');
    await inPage(async (page, posts) => {
      await logIn(page, harness.api.url, student.user.email);
      // The same amount twice: two deposits, so two keys.
      for (const round of [1, 2]) {
        await page.getByLabel('Amount to deposit').fill('25');
        await page.getByRole('button', { name: 'Deposit' }).click();
        await page.getByRole('status').filter({ hasText: 'Deposited $25.00.' }).waitFor();
        await page
          .getByTestId('wallet-available')
          .getByText(round === 1 ? '$25.00' : '$50.00')
          .waitFor();
      }
      await page.goto(`${harness.api.url}/console/teachers/${teacher.user.id}`);
      await page.getByRole('button', { name: 'Book Test class' }).click();
      await page.getByRole('button', { name: 'Confirm booking' }).click();
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
      await page.goto(`${harness.api.url}/console/courses/${course.body.id}`);
      await page.getByRole('button', { name: 'Enrol in the course' }).click();
      await page.getByRole('button', { name: 'Confirm enrolment' }).click();
      await page.getByRole('heading', { name: 'Bookings' }).waitFor();

      const money = posts.filter((post) => MONEY_POST.test(new URL(post.url).pathname));
      assert.deepEqual(
        money.map((post) => new URL(post.url).pathname.replace(course.body.id, ':id')),
        [
          '/api/v1/wallet/deposit',
          '/api/v1/wallet/deposit',
          '/api/v1/bookings',
          '/api/v1/courses/:id/enroll',
        ],
      );
      for (const post of money) assert.match(post.key ?? '(none)', UUID, `${post.url} carries a key`);
      assert.equal(
        new Set(money.map((post) => post.key)).size,
        money.length,
        'a new key for each new request',
      );
    });
    assert.deepEqual(await depositAmounts(student), [2_500, 2_500]);
    assert.equal((await harness.api.db('bookings').where({ student_id: student.user.id })).length, 3);
  });

  // ---- helpers ---------------------------------------------------------------------

  interface SentPost {
    url: string;
    key: string | undefined;
    /** The answer's Idempotent-Replayed header, once it came. */
    replayed?: string | undefined;
  }

  /** A fresh page; every POST it sends to the API is recorded with its key and the answer's replay header. */
  async function inPage(use: (page: Page, posts: SentPost[]) => Promise<void>): Promise<void> {
    const { context, page, problems } = await watchedPage(browser!);
    const posts: SentPost[] = [];
    const byRequest = new Map<Request, SentPost>();
    page.on('request', (request) => {
      if (request.method() !== 'POST' || !request.url().includes('/api/v1/')) return;
      const post = { url: request.url(), key: request.headers()['idempotency-key'] };
      byRequest.set(request, post);
      posts.push(post);
    });
    page.on('response', (response) => {
      const post = byRequest.get(response.request());
      if (post) post.replayed = response.headers()['idempotent-replayed'];
    });
    try {
      await use(page, posts);
      assertClean(problems);
    } finally {
      await context.close();
    }
  }

  /** The next request to `pattern` reaches the server, but its answer never reaches the page. */
  async function loseFirstAnswer(page: Page, pattern: string): Promise<void> {
    await page.route(
      pattern,
      async (route) => {
        await route.fetch(); // the server does the work...
        await route.abort('connectionreset'); // ...and the answer is lost on the way back
      },
      { times: 1 },
    );
  }

  /** Requests to `pattern` reach the server; their answers wait until release(). */
  function holdAnswers(page: Page, pattern: string): { answered(): Promise<void>; release(): Promise<void> } {
    const held: Route[] = [];
    let arrived: () => void = () => {};
    const first = new Promise<void>((resolve) => (arrived = resolve));
    void page.route(pattern, async (route) => {
      await route.fetch();
      held.push(route);
      arrived();
    });
    return {
      answered: () => first,
      async release() {
        // The page gave up on them: aborting what it no longer waits for changes nothing.
        for (const route of held) await route.abort('timedout').catch(() => {});
      },
    };
  }

  /**
   * Double-clicks `button` (with the mouse, or two clicks dispatched in one task)
   * while its request is held on the way to the server, then lets it through.
   */
  async function doubleClickWhileInFlight(
    page: Page,
    pattern: string,
    button: ReturnType<Page['getByRole']>,
    how: 'with the mouse' | 'in one task' = 'with the mouse',
  ): Promise<void> {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let seen = 0;
    let arrived: () => void = () => {};
    const first = new Promise<void>((resolve) => (arrived = resolve));
    await page.route(pattern, async (route) => {
      seen++;
      arrived();
      await released;
      await route.continue();
    });
    if (how === 'with the mouse') await button.dblclick();
    else
      await button.evaluate((element) => {
        (element as { click(): void }).click();
        (element as { click(): void }).click();
      });
    await first;
    // Both clicks were handled while the first request was still on its way.
    assert.equal(seen, 1, 'the second click sent nothing');
    release();
    await page.unroute(pattern);
  }

  async function depositAmounts(student: Session): Promise<number[]> {
    const response = await harness.api.request('GET', '/api/v1/wallet/transactions?type=deposit', {
      token: student.token,
    });
    assert.equal(response.status, 200, response.text);
    return (response.body.data as { amount: number }[]).map((line) => line.amount).sort((a, b) => a - b);
  }

  /** Without Chromium: what the API itself guarantees the console's retries rely on. */
  async function overHttp(what: string): Promise<void> {
    noBrowser(what);
    const student = await registerNamed(harness.api, 'student', 'Http Only');
    const key = 'resilience-over-http-' + student.user.id;
    const send = () =>
      harness.api.request('POST', '/api/v1/wallet/deposit', {
        token: student.token,
        body: { amount: 1_000 },
        headers: { 'Idempotency-Key': key },
      });
    const first = await send();
    const again = await send();
    assert.equal(first.status, 201, first.text);
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await depositAmounts(student), [1_000], 'a retried deposit moves money once');
  }
});

function assertClean(problems: PageProblems): void {
  assert.deepEqual(problems.errors, [], 'script errors');
  assert.deepEqual(problems.cspViolations, [], 'Content-Security-Policy violations');
}
