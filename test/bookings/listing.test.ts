// Paged listings: every row exactly once, even rows written by one
// transaction (one created_at); cursors the API did not issue, or issued for
// another listing, are 400.
import assert from 'node:assert/strict';
import { createAdmin } from '../support/api';
import { cast, startBookingHarness, type BookingHarness } from '../support/bookings';

const DAY_MS = 24 * 60 * 60_000;

describe('paged listings of bookings and notifications', () => {
  let harness: BookingHarness;
  before(async () => {
    harness = await startBookingHarness();
  });
  after(async () => {
    await harness?.close();
  });

  async function pages(token: string, path: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const query: string = `limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`;
      const response = await harness.api.request('GET', `${path}?${query}`, { token });
      assert.equal(response.status, 200, response.text);
      ids.push(...response.body.data.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
      if (cursor === null) return ids;
    }
    throw new Error('more pages than rows');
  }

  /** A student enrolled in a new course of `sessions` sessions, a day apart from two days on: one transaction. */
  async function enrolled(sessions: number) {
    const { teacher, student } = await cast(harness.api);
    const start = harness.clock.now().getTime() + 2 * DAY_MS;
    const course = await harness.api.request('POST', '/api/v1/courses', {
      token: teacher.token,
      body: {
        title: `${sessions} sessions`,
        capacity: 3,
        pricePerSession: 100,
        sessions: Array.from({ length: sessions }, (_, i) => ({
          startsAt: new Date(start + i * DAY_MS).toISOString(),
          durationMinutes: 30,
        })),
      },
    });
    assert.equal(course.status, 201, course.text);
    const enrolment = await harness.api.request('POST', `/api/v1/courses/${course.body.id}/enroll`, {
      token: student.token,
    });
    assert.equal(enrolment.status, 201, enrolment.text);
    return { teacher, student, made: enrolment.body.bookings.map((b: { id: string }) => b.id).sort() };
  }

  it('when rows share one timestamp (one enrolment), then paging returns each booking and notification exactly once', async () => {
    const { teacher, student, made } = await enrolled(5);

    const listed = await pages(student.token, '/api/v1/bookings', 2);
    assert.deepEqual([...listed].sort(), made);
    assert.equal(new Set(listed).size, listed.length);

    const teacherNotes = await pages(teacher.token, '/api/v1/notifications', 2);
    assert.equal(teacherNotes.length, 5);
    assert.equal(new Set(teacherNotes).size, 5);
  });

  it('when a cursor was not issued by the API (a year out of range, a day that does not exist, garbage), then 400 validation_error', async () => {
    const { student } = await cast(harness.api);
    const admin = await createAdmin(harness.api);
    for (const cursor of [
      Buffer.from('2026-02-30T00:00:00.000000Z|3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10').toString('base64url'),
      Buffer.from('2026-12-02T24:00:00.000000Z|3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10').toString('base64url'),
      Buffer.from('-100000-01-01T00:00:00.000000Z|3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10').toString(
        'base64url',
      ),
      Buffer.from('2026-12-02T10:00:00.000Z|3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10').toString('base64url'),
      'bm90LWEtY3Vyc29y',
    ]) {
      for (const [path, who] of [
        ['/api/v1/bookings', student],
        ['/api/v1/notifications', student],
        ['/api/v1/teachers', student],
        ['/api/v1/admin/reviews', admin],
      ] as const) {
        const response = await harness.api.request('GET', `${path}?cursor=${cursor}`, {
          token: who.token,
        });
        assert.equal(response.status, 400, `${path} ${response.text}`);
        assert.equal(response.body.error.details[0].path, 'query.cursor');
      }
    }
  });

  it('when a cursor of one listing is sent to another, then 400 naming its listing; a cursor from before cursors named theirs still pages', async () => {
    const { teacher, student } = await enrolled(3);
    const first = await harness.api.request('GET', '/api/v1/bookings?limit=1', { token: student.token });
    const cursor: string = first.body.nextCursor;
    assert.equal(typeof cursor, 'string');
    const second = await harness.api.request('GET', `/api/v1/bookings?limit=1&cursor=${cursor}`, {
      token: student.token,
    });
    assert.equal(second.status, 200, second.text);
    assert.notEqual(second.body.data[0].id, first.body.data[0].id);

    for (const [path, who] of [
      ['/api/v1/notifications', student],
      ['/api/v1/teachers', student],
      ['/api/v1/withdrawals', teacher],
      ['/api/v1/teachers/me/meetings', teacher],
      ['/api/v1/admin/reviews', await createAdmin(harness.api)],
      ['/api/v1/wallet/transactions', student],
    ] as const) {
      const refused = await harness.api.request('GET', `${path}?cursor=${cursor}`, { token: who.token });
      assert.equal(refused.status, 400, `${path} ${refused.text}`);
      assert.equal(refused.body.error.details[0].path, 'query.cursor');
      assert.match(refused.body.error.details[0].message, /another listing \(bookings\)/);
    }

    const [listing, ...position] = Buffer.from(cursor, 'base64url').toString().split('|');
    assert.equal(listing, 'bookings');
    const older = Buffer.from(position.join('|')).toString('base64url');
    const same = await harness.api.request('GET', `/api/v1/bookings?limit=1&cursor=${older}`, {
      token: student.token,
    });
    assert.equal(same.status, 200, same.text);
    assert.deepEqual(same.body, second.body);

    // The statement's cursor (by line number) names its listing too, and older ones still page.
    const lines = await harness.api.request('GET', '/api/v1/wallet/transactions?limit=1', {
      token: student.token,
    });
    const statementCursor: string = lines.body.nextCursor;
    const misplaced = await harness.api.request('GET', `/api/v1/bookings?cursor=${statementCursor}`, {
      token: student.token,
    });
    assert.equal(misplaced.status, 400, misplaced.text);
    assert.match(misplaced.body.error.details[0].message, /another listing \(transactions\)/);
    const [, seq] = Buffer.from(statementCursor, 'base64url').toString().split('|');
    const olderLines = await harness.api.request(
      'GET',
      `/api/v1/wallet/transactions?limit=1&cursor=${Buffer.from(seq!).toString('base64url')}`,
      { token: student.token },
    );
    const nextLines = await harness.api.request(
      'GET',
      `/api/v1/wallet/transactions?limit=1&cursor=${statementCursor}`,
      { token: student.token },
    );
    assert.equal(olderLines.status, 200, olderLines.text);
    assert.deepEqual(olderLines.body, nextLines.body);
    assert.equal(nextLines.body.data.length, 1);
  });
});
