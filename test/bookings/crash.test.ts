// A worker killed (SIGKILL) while many bookings are being settled, and a new
// one started: every booking settles exactly once and the ledger's audit is
// clean. The dead worker's activities are only given up when their
// start-to-close timeout passes on the server (as on a real cluster), so
// this test waits out one such timeout.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { spawn, type ChildProcess } from 'node:child_process';
import type { BookingOutcome } from '../../workflows/shared';
import { register } from '../support/api';
import {
  assertAuditClean,
  attend,
  bookOk,
  eventually,
  finishRoom,
  fundedStudents,
  publishSlot,
  startBookingHarness,
  untilPhase,
  workflowOf,
  type BookingHarness,
} from '../support/bookings';
import { testDatabase } from '../support/db';

const MINUTE_MS = 60_000;
const MEETINGS = 6;
const SEATS = 5;

async function startWorkerProcess(harness: BookingHarness): Promise<ChildProcess> {
  const { url } = await testDatabase();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/support/children/booking-worker.ts',
      harness.env.address,
      url,
      harness.taskQueue,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('READY')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`worker exited (${code}) before it was ready:\n${output}`)),
    );
  });
  return child;
}

describe('a worker killed mid-settlement', () => {
  let harness: BookingHarness;
  const children: ChildProcess[] = [];
  before(async function () {
    requireTimeSkipping(this);
    harness = await startBookingHarness({}, { inProcessWorker: false });
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await harness?.close();
  });

  it('when the worker is killed while bookings settle and another takes over, then every booking settles exactly once and the audit is clean', async function () {
    this.timeout(240_000);
    const { api } = harness;
    const teacher = await register(api, 'teacher');
    const meetings = await Promise.all(
      Array.from({ length: MEETINGS }, () =>
        publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, capacity: SEATS, price: 1_001 }),
      ),
    );
    const students = await fundedStudents(api, MEETINGS * SEATS, 2_000);
    const bookings: { id: string; meeting: (typeof meetings)[number]; studentId: string }[] = [];
    for (const [i, student] of students.entries()) {
      const meeting = meetings[i % MEETINGS]!;
      const booking = await bookOk(harness, student, meeting.id);
      bookings.push({ id: booking.id, meeting, studentId: student.user.id });
    }

    const first = await startWorkerProcess(harness);
    children.push(first);
    await harness.skipTo(new Date(Date.parse(meetings[0]!.startsAt) - 14 * MINUTE_MS));
    for (const booking of bookings) await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meetings[0]!.endsAt)));
    for (const meeting of meetings) await attend(harness, meeting, teacher.user.id, 0, 60);
    await Promise.all(
      bookings.map((b, i) => attend(harness, b.meeting, b.studentId, 0, i % 2 === 0 ? 60 : 5)),
    );

    // Every class finishes at once; the worker dies while their settlements are under way.
    await Promise.all(meetings.map((meeting) => finishRoom(harness, meeting)));
    await eventually(async () => {
      const [row] = await api
        .db('bookings')
        .whereIn(
          'id',
          bookings.map((b) => b.id),
        )
        .whereNot({ settlement: 'held' })
        .count({ n: '*' });
      return Number(row!.n) >= 1 ? true : undefined;
    }, 'the first settlement');
    first.kill('SIGKILL');
    const settledBeforeKill = Number(
      (
        await api
          .db('bookings')
          .whereIn(
            'id',
            bookings.map((b) => b.id),
          )
          .whereNot({ settlement: 'held' })
          .count({ n: '*' })
      )[0]!.n,
    );

    const second = await startWorkerProcess(harness);
    children.push(second);
    // One at a time: each result() unlocks the time-skipping server's clock while it waits, and
    // the server counts those (as Java's test server does), so concurrent waits would unbalance it.
    const outcomes: BookingOutcome[] = [];
    for (const b of bookings) outcomes.push((await workflowOf(harness, b.id).result()) as BookingOutcome);

    assert.ok(settledBeforeKill < bookings.length, 'the kill came before every booking was settled');
    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.outcome, i % 2 === 0 ? 'attended' : 'low_attendance', bookings[i]!.id);
    }
    const rows = await api.db('bookings').whereIn(
      'id',
      bookings.map((b) => b.id),
    );
    assert.ok(rows.every((r) => r.settlement !== 'held'));
    // Exactly one resolution of each hold, and each teacher share and platform fee once.
    const transfers = await api
      .db('ledger_transfers')
      .whereIn(
        'reference_id',
        bookings.map((b) => b.id),
      )
      .select('reference_id', 'code');
    for (const [i, booking] of bookings.entries()) {
      const codes = transfers
        .filter((t) => t.reference_id === booking.id)
        .map((t) => t.code)
        .sort();
      assert.deepEqual(
        codes,
        i % 2 === 0
          ? ['booking_charge', 'booking_hold', 'platform_fee', 'teacher_share']
          : ['booking_hold', 'booking_refund'],
        booking.id,
      );
    }
    await assertAuditClean(api);
  });
});
