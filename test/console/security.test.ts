// The console's security in Debian's Chromium, against the real app on real
// Postgres, a real worker and the dev server: what people type (names,
// titles, reasons) renders as text on every page that shows it, for every
// role; the page runs under a Content-Security-Policy that allows no inline
// script and no eval, and nothing the console does trips it; the session's
// token never travels in a URL. Plus what plain HTTP shows of /console.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createAdmin, depositTo, type Session } from '../support/api';
import {
  attend,
  bookOk,
  eventually,
  finishRoom,
  startBookingHarness,
  untilPhase,
  type BookingHarness,
} from '../support/bookings';
import { findChromium, launchChromium, noBrowser, watchedPage } from '../support/browser';
import { assertStrictScriptPolicy, consolePageOverHttp, logIn, registerNamed } from '../support/console';
import { requireTimeSkipping } from '../support/devserver';
import { adminAct, earn, withdrawOk } from '../support/withdrawals';

const MINUTE_MS = 60_000;
const SCRIPT = '<script>window.__xss=1</script>';
const IMG = '"><img src=x onerror="window.__xss=1">';
const JS_URL = 'javascript:window.__xss=1';
const chromiumPath = findChromium();

describe('web console: security', function () {
  this.timeout(120_000);
  let harness: BookingHarness;
  let browser: Browser | undefined;

  before(async function () {
    // A dispute window, so a student can write a dispute reason for the admin to read.
    harness = await startBookingHarness({ DISPUTE_WINDOW_HOURS: '24' }, { sockets: true });
    if (chromiumPath !== undefined) browser = await launchChromium(chromiumPath);
  });

  after(async function () {
    await browser?.close();
    await harness?.close();
  });

  // ---- plain HTTP ------------------------------------------------------------------

  it('when /console or any path under it is asked for, then it answers the page under a policy that allows no inline script and no eval', async function () {
    for (const path of ['/console', '/console/', '/console/wallet', '/console/anything/deeper?x=1']) {
      const { response, csp, html } = await consolePageOverHttp(harness.api.url, path);
      assertStrictScriptPolicy(csp, path);
      assert.equal(response.headers.get('cache-control'), 'no-store', `${path}: the page is not cached`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.match(cspOf(csp, 'frame-ancestors'), /'none'/, `${path}: not framed`);
      // The page is static: no inline script, nothing of anyone's data.
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${path}: no inline script`);
      assert.doesNotMatch(html, /\son\w+=/i, `${path}: no inline event handler`);
    }
    const head = await fetch(`${harness.api.url}/console/bookings`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assertStrictScriptPolicy(head.headers.get('content-security-policy') ?? '', 'HEAD /console/bookings');
  });

  it('when the page’s assets are asked for, then they are served with immutable caching, and an unknown asset is 404 in the API’s error shape', async function () {
    const { script, stylesheet } = await consolePageOverHttp(harness.api.url);
    for (const [asset, type] of [
      [script, /^text\/javascript/],
      [stylesheet, /^text\/css/],
    ] as const) {
      const response = await fetch(`${harness.api.url}${asset}`);
      assert.equal(response.status, 200, asset);
      assert.match(response.headers.get('content-type') ?? '', type, asset);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable', asset);
      assert.ok((await response.arrayBuffer()).byteLength > 1_000, `${asset} has content`);
    }
    for (const unknown of [
      '/console/assets/console-NOPE0000.js',
      '/console/assets/nothing.css',
      '/console/assets/%2e%2e%2fpackage.json',
      '/console/assets/..%2F..%2Fpackage.json',
    ]) {
      const response = await fetch(`${harness.api.url}${unknown}`);
      assert.equal(response.status, 404, unknown);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/, unknown);
      assert.doesNotMatch(
        response.headers.get('cache-control') ?? '',
        /immutable/,
        `${unknown} is not cached`,
      );
      const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
      assert.equal(typeof body.error?.code, 'string', `${unknown}: ${JSON.stringify(body)}`);
      assert.equal(typeof body.error?.message, 'string', `${unknown}: ${JSON.stringify(body)}`);
    }
  });

  it('when /console is posted to, then it is 405 in the API’s error shape with the methods allowed', async function () {
    for (const path of ['/console', '/console/wallet', '/console/config.json']) {
      const response = await fetch(`${harness.api.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      assert.equal(response.status, 405, path);
      assert.equal(response.headers.get('allow'), 'GET, HEAD', path);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'method_not_allowed', path);
      assert.equal(typeof body.error.message, 'string');
    }
  });

  it('when /console/config.json is asked for, then it says the currency and which ways to add money are on, uncached', async function () {
    const response = await fetch(`${harness.api.url}/console/config.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assertStrictScriptPolicy(response.headers.get('content-security-policy') ?? '', 'config.json');
    assert.deepEqual(await response.json(), {
      currency: harness.api.settings.CURRENCY,
      testDeposits: true,
      topups: false,
    });
  });

  // ---- in the browser --------------------------------------------------------------

  it('when names, titles and reasons carry script tags, markup and javascript: URLs, then every role’s pages show them as text and nothing runs', async function () {
    requireTimeSkipping(this, harness.env);
    const world = await hostileWorld();
    if (browser === undefined) return hostileOverHttp(world);

    // The student: the teacher's classes and course, the booking, the notifications.
    await asRole(world.student, async (page) => {
      await shows(page, `Log out ${IMG} (student)`);
      // Found by the hostile name itself, typed into the search.
      await page.getByRole('link', { name: 'Find a class' }).click();
      await page.getByLabel("Teacher's name").fill(SCRIPT);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('link', { name: SCRIPT }).click();
      await page.getByRole('heading', { name: 'Upcoming classes' }).waitFor();
      await shows(page, JS_URL, SCRIPT, world.courseTitle);
      await page.getByRole('button', { name: `Book ${JS_URL}` }).click();
      await page.getByRole('group', { name: `Confirm booking of ${JS_URL}` }).waitFor();
      await inert(page, 'the booking confirmation');
      await page.getByRole('link', { name: world.courseTitle }).click();
      await page.getByRole('heading', { name: world.courseTitle }).waitFor();
      await shows(page, IMG);
      await page.getByRole('button', { name: 'Enrol in the course' }).click();
      await page.getByRole('group', { name: 'Confirm enrolment' }).waitFor();
      await inert(page, 'the enrolment confirmation');
      await page.getByRole('link', { name: 'My bookings' }).click();
      await page.getByTestId('bookings').waitFor();
      await inert(page, 'my bookings');
      await page.goto(`${harness.api.url}/console/bookings/${world.bookingId}`);
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
      await inert(page, 'the booking');
      await page.getByRole('link', { name: /^Notifications/ }).click();
      await page.locator('ul.notifications li').first().waitFor();
      await inert(page, 'the notifications');
    });

    // The teacher: the classes, a class with its booking, the withdrawals, the notifications.
    await asRole(world.teacher, async (page) => {
      await shows(page, `Log out ${SCRIPT} (teacher)`);
      await page.getByTestId('my-classes').waitFor();
      await shows(page, IMG, JS_URL, SCRIPT);
      await page.goto(`${harness.api.url}/console/meetings/${world.disputedMeetingId}`);
      await page.getByRole('heading', { name: IMG }).waitFor();
      await inert(page, 'the class');
      await page.getByRole('link', { name: 'Withdrawals' }).click();
      await page.getByTestId('withdrawals').waitFor();
      await shows(page, SCRIPT, IMG, JS_URL);
      await page.getByRole('link', { name: /^Notifications/ }).click();
      await page.getByText(`reason: ${JS_URL}`).first().waitFor();
      await inert(page, 'the notifications');
    });

    // The admin: the review queue with the dispute, the withdrawal queue, the class.
    await asRole(world.admin, async (page) => {
      await shows(page, `Log out ${JS_URL} (admin)`);
      // As the review-required email links it (the queue pages, longest waiting first).
      await page.goto(`${harness.api.url}/console/reviews?booking=${world.bookingId}`);
      await page
        .getByTestId('review')
        .filter({ hasText: world.bookingId.slice(0, 8) })
        .waitFor();
      await shows(page, IMG);
      await page.getByRole('link', { name: 'Withdrawals' }).click();
      await page
        .getByRole('article', { name: `Withdrawal ${world.pendingWithdrawalId.slice(0, 8)}` })
        .waitFor();
      await shows(page, IMG, SCRIPT);
      await page.getByLabel('rejected').check();
      await shows(page, `Reason: ${JS_URL}`);
      await page.goto(`${harness.api.url}/console/meetings/${world.disputedMeetingId}`);
      await page.getByRole('heading', { name: IMG }).waitFor();
      await inert(page, 'the class');
      await page.goto(`${harness.api.url}/console/bookings/${world.bookingId}`);
      await page.getByRole('heading', { name: /^Booking of/ }).waitFor();
      await inert(page, 'the booking');
    });
  });

  it('when a student, a teacher and an admin log in and move through their pages, then their token is in no URL asked for, nor in the location or the history', async function () {
    if (browser === undefined) {
      noBrowser('the token-in-URL check');
      // What HTTP can show: logging in answers the token in the body, and the page never carries it.
      const student = await registerNamed(harness.api, 'student', 'Plain student');
      const { html } = await consolePageOverHttp(harness.api.url, '/console/wallet');
      assert.ok(!html.includes(student.token));
      return;
    }
    const people: Session[] = [
      await registerNamed(harness.api, 'student', 'Sue Student'),
      await registerNamed(harness.api, 'teacher', 'Tom Teacher'),
      await createAdmin(harness.api),
    ];
    for (const person of people) {
      const { context, page, problems } = await watchedPage(browser);
      const sockets: string[] = [];
      page.on('websocket', (socket) => sockets.push(socket.url()));
      try {
        await logIn(page, harness.api.url, person.user.email);
        const nav = page.getByRole('navigation', { name: 'Main' });
        const links = await nav.getByRole('link').allTextContents();
        for (const name of links) {
          await nav.getByRole('link', { name: name.trim() }).click();
          await page.getByRole('heading', { level: 1 }).first().waitFor();
          await page.locator('[aria-busy=true]').first().waitFor({ state: 'detached' });
        }
        await page.reload();
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        // The token this tab holds, as the page keeps it.
        const stored = await page.evaluate(
          () => (globalThis as any).sessionStorage.getItem('console.session') as string | null,
        );
        assert.ok(stored, 'the tab holds a session');
        const token = (JSON.parse(stored) as { token: string }).token;
        const signature = token.split('.')[2]!;
        await eventually(async () => (sockets.length > 0 ? true : undefined), 'the notifications socket');
        const seen = [
          ...problems.requestedUrls,
          ...sockets,
          page.url(),
          await page.evaluate(() => (globalThis as any).document.referrer as string),
        ];
        assert.ok(problems.requestedUrls.length > 5, 'the pages asked for things');
        for (const url of seen) {
          assert.ok(!url.includes(signature), `the token is in ${url}`);
          assert.ok(!decodeURIComponent(url).includes(signature), `the token is in ${url} (decoded)`);
        }
        // Every entry of this tab's history, walked back to the first.
        const entries = await page.evaluate(() => (globalThis as any).history.length as number);
        const visited: string[] = [page.url()];
        for (let back = 1; back < entries; back++) {
          await page.goBack({ waitUntil: 'commit' });
          visited.push(page.url());
        }
        assert.ok(
          visited.some((url) => url.endsWith('/console/login')),
          visited.join(' '),
        );
        for (const url of visited) assert.ok(!url.includes(signature), `the token is in the history: ${url}`);
        assert.deepEqual(problems.errors, [], 'script errors');
        assert.deepEqual(problems.cspViolations, [], 'Content-Security-Policy violations');
      } finally {
        await context.close();
      }
    }
  });

  it('when a script is slipped into the page, then the console’s policy blocks it and the browser reports the violation', async function () {
    if (browser === undefined) {
      noBrowser('the policy check in the browser');
      assertStrictScriptPolicy((await consolePageOverHttp(harness.api.url)).csp, '/console');
      return;
    }
    // The positive control of the checks above: a violation, when there is one, is seen.
    const { context, page, problems } = await watchedPage(browser);
    try {
      const response = await page.goto(`${harness.api.url}/console/login`);
      assertStrictScriptPolicy((await response?.allHeaders())?.['content-security-policy'] ?? '', 'the page');
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.evaluate(() => {
        const { document } = globalThis as any;
        const script = document.createElement('script');
        script.textContent = 'window.__xss = 1';
        document.body.append(script);
        const image = document.createElement('img');
        image.setAttribute('src', 'data:,');
        image.setAttribute('onerror', 'window.__xss = 2');
        image.setAttribute('onload', 'window.__xss = 3');
        document.body.append(image);
      });
      await eventually(
        async () => (problems.cspViolations.length >= 1 ? true : undefined),
        'the browser to report the blocked inline script',
      );
      assert.equal(await page.evaluate(() => (globalThis as any).__xss as unknown), undefined);
      assert.match(problems.cspViolations[0]!, /inline/i);
    } finally {
      await context.close();
    }
  });

  // ---- the world of hostile text ---------------------------------------------------

  interface HostileWorld {
    teacher: Session;
    student: Session;
    admin: Session;
    courseTitle: string;
    bookingId: string;
    disputedMeetingId: string;
    pendingWithdrawalId: string;
  }

  /**
   * A teacher, a student and an admin named with the hostile strings; classes
   * and a course titled with them; a class held and disputed with one as its
   * reason; withdrawals to holders and banks named with them, one rejected
   * with one as its reason.
   */
  async function hostileWorld(): Promise<HostileWorld> {
    const teacher = await registerNamed(harness.api, 'teacher', SCRIPT);
    const student = await registerNamed(harness.api, 'student', IMG);
    const admin = await createAdmin(harness.api);
    await harness.api.db('users').where({ id: admin.user.id }).update({ name: JS_URL });
    await depositTo(harness.api, student, 10_000);

    const held = await titledSlot(teacher, IMG, 2 * 24 * 60 * MINUTE_MS);
    const booking = await bookOk(harness, student, held.id);
    await harness.skipTo(new Date(Date.parse(held.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(held.endsAt)));
    await attend(harness, held, teacher.user.id, 0, 60);
    await attend(harness, held, student.user.id, 0, 60);
    await finishRoom(harness, held);
    await untilPhase(harness, booking.id, 'dispute_window');
    const disputed = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/dispute`, {
      token: student.token,
      body: { reason: IMG },
    });
    assert.equal(disputed.status, 200, disputed.text);

    // Upcoming, after the skipped time: two single classes and a course.
    await titledSlot(teacher, JS_URL, 3 * 24 * 60 * MINUTE_MS);
    await titledSlot(teacher, SCRIPT, 4 * 24 * 60 * MINUTE_MS);
    const courseTitle = `${JS_URL} course`;
    const firstSession =
      Math.ceil((harness.clock.now().getTime() + 5 * 24 * 60 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
    const course = await harness.api.request('POST', '/api/v1/courses', {
      token: teacher.token,
      body: {
        title: courseTitle,
        description: IMG,
        capacity: 5,
        pricePerSession: 500,
        sessions: [0, 1].map((week) => ({
          startsAt: new Date(firstSession + week * 7 * 24 * 60 * MINUTE_MS).toISOString(),
          durationMinutes: 60,
        })),
      },
    });
    assert.equal(course.status, 201, course.text);

    await earn(harness.api, teacher.user.id, 5_000);
    const rejected = await withdrawOk(harness.api, teacher, 1_000);
    const pending = await harnessWithdraw(teacher, 1_000, {
      holderName: IMG,
      iban: 'DE89 3704 0044 0532 0130 00',
      bankName: SCRIPT,
    });
    const rejectedAnswer = await adminAct(harness.api, admin, rejected.id, 'reject', { reason: JS_URL });
    assert.equal(rejectedAnswer.status, 200, rejectedAnswer.text);
    return {
      teacher,
      student,
      admin,
      courseTitle,
      bookingId: booking.id,
      disputedMeetingId: held.id,
      pendingWithdrawalId: pending.id,
    };
  }

  async function titledSlot(teacher: Session, title: string, startsInMs: number) {
    const startsAt = Math.ceil((harness.clock.now().getTime() + startsInMs) / MINUTE_MS) * MINUTE_MS;
    const response = await harness.api.request('POST', '/api/v1/teachers/me/slots', {
      token: teacher.token,
      body: { startsAt: new Date(startsAt).toISOString(), durationMinutes: 60, price: 1_000, title },
    });
    assert.equal(response.status, 201, response.text);
    return response.body as { id: string; startsAt: string; endsAt: string };
  }

  async function harnessWithdraw(
    teacher: Session,
    amount: number,
    bankAccount: Record<string, string>,
  ): Promise<{ id: string }> {
    const response = await harness.api.request('POST', '/api/v1/withdrawals', {
      token: teacher.token,
      body: { amount, bankAccount },
    });
    assert.equal(response.status, 201, response.text);
    return response.body;
  }

  /** Without a browser: the API hands the strings back as JSON data, and the page carries none of them. */
  async function hostileOverHttp(world: HostileWorld): Promise<void> {
    noBrowser('the hostile-text pages');
    const slots = await harness.api.request('GET', `/api/v1/teachers/${world.teacher.user.id}/slots`, {
      token: world.student.token,
    });
    assert.match(slots.headers.get('content-type') ?? '', /^application\/json/);
    const titles = (slots.body.data as { title: string }[]).map((m) => m.title);
    assert.ok(titles.includes(JS_URL) && titles.includes(SCRIPT), 'the titles come back verbatim, as data');
    const { html, csp } = await consolePageOverHttp(
      harness.api.url,
      `/console/teachers/${world.teacher.user.id}`,
    );
    assertStrictScriptPolicy(csp, 'the teacher page');
    assert.ok(!html.includes('__xss'), 'the page itself carries no one’s text');
  }

  // ---- looking at pages ------------------------------------------------------------

  /** Logs `person` in, runs `visit`, then checks the whole visit ran clean under the policy. */
  async function asRole(person: Session, visit: (page: Page) => Promise<void>): Promise<void> {
    const { context, page, problems } = await watchedPage(browser!);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const policies: string[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'document')
        policies.push(response.headers()['content-security-policy'] ?? '');
    });
    try {
      await logIn(page, harness.api.url, person.user.email);
      await visit(page);
      await inert(page, `the last page of ${person.user.role}`);
      assert.deepEqual(dialogs, [], `no dialog opens (${person.user.role})`);
      assert.deepEqual(problems.errors, [], `script errors (${person.user.role})`);
      assert.deepEqual(
        problems.cspViolations,
        [],
        `Content-Security-Policy violations (${person.user.role})`,
      );
      assert.ok(policies.length > 0);
      for (const policy of policies)
        assertStrictScriptPolicy(policy, `a page the ${person.user.role} loaded`);
    } finally {
      await context.close();
    }
  }

  /** Each text is on the page, as text; then nothing ran. */
  async function shows(page: Page, ...texts: string[]): Promise<void> {
    for (const text of texts) await page.getByText(text, { exact: false }).first().waitFor();
    await inert(page, texts.join(' and '));
  }

  /** Nothing the hostile text carried became markup, a link or a script. */
  async function inert(page: Page, where: string): Promise<void> {
    const found = await page.evaluate(() => {
      const { document, __xss } = globalThis as any;
      return {
        xss: __xss as unknown,
        images: document.querySelectorAll('img[src="x"], [onerror], [onload], [onclick]').length,
        javascriptLinks: document.querySelectorAll(
          'a[href^="javascript:" i], [href^="javascript:" i], [src^="javascript:" i], [action^="javascript:" i], [formaction^="javascript:" i]',
        ).length,
        inlineScripts: document.querySelectorAll('script:not([src])').length,
        scripts: [...document.querySelectorAll('script[src]')].map(
          (s: any) => s.getAttribute('src') as string | null,
        ),
      };
    });
    assert.equal(found.xss, undefined, `window.__xss was set on ${where}`);
    assert.equal(found.images, 0, `an element with an inline handler on ${where}`);
    assert.equal(found.javascriptLinks, 0, `a javascript: URL on ${where}`);
    assert.equal(found.inlineScripts, 0, `an inline script on ${where}`);
    assert.ok(
      found.scripts.every((src) => src !== null && src.startsWith('/console/assets/')),
      `only the console's own script on ${where}: ${found.scripts.join(', ')}`,
    );
  }
});

function cspOf(csp: string, directive: string): string {
  return (
    csp
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${directive} `)) ?? ''
  );
}
