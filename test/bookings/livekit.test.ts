// POST /api/v1/webhooks/livekit (SPEC section 5): signatures, content types,
// storing each event once, routing to the bookings it concerns, attendance
// out of LiveKit's real delivery (duplicates, reordering, lost events), and
// closing the room through LiveKit's RoomService at finalisation.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { AccessToken } from 'livekit-server-sdk';
import { LiveKit } from '../../livekit/livekit';
import { storedPresence } from '../../bookings/presence';
import { MAX_ATTENDANCE_EVENTS } from '../../workflows/shared';
import { register, type ApiResponse, type Session } from '../support/api';
import {
  assertAuditClean,
  attend,
  bookingState,
  bookOk,
  cast,
  earningsOf,
  finishRoom,
  publishSlot,
  sendWebhook,
  settled,
  startBookingHarness,
  untilPhase,
  walletOf,
  type BookingHarness,
} from '../support/bookings';
import { participantEvent, roomFinishedEvent, signWebhook } from '../support/livekit';

const MINUTE_MS = 60_000;

type Event = Record<string, unknown>;

/** POSTs a body to the webhook as it is, with whatever headers the case calls for. */
async function postWebhook(
  harness: BookingHarness,
  body: string,
  headers: Record<string, string | undefined>,
): Promise<ApiResponse> {
  return harness.api.request('POST', '/api/v1/webhooks/livekit', { rawBody: body, headers });
}

async function storedCopies(harness: BookingHarness, eventId: string): Promise<number> {
  const [row] = await harness.api.db('livekit_events').where({ id: eventId }).count({ n: '*' });
  return Number(row!.n);
}

async function storedEvents(harness: BookingHarness): Promise<number> {
  const [row] = await harness.api.db('livekit_events').count({ n: '*' });
  return Number(row!.n);
}

async function bookingView(harness: BookingHarness, who: Session, bookingId: string): Promise<any> {
  const response = await harness.api.request('GET', `/api/v1/bookings/${bookingId}`, { token: who.token });
  assert.equal(response.status, 200, response.text);
  return response.body;
}

/** A teacher, a student with 5,000 and the student's booking of a 60-minute class two days away. */
async function bookedClass(harness: BookingHarness, price = 1_000) {
  const { teacher, student } = await cast(harness.api, { funds: 5_000 });
  const meeting = await publishSlot(harness, teacher, { price });
  const booking = await bookOk(harness, student, meeting.id);
  return { teacher, student, meeting, booking };
}

/** Minutes after the class's start, in ms since the epoch. */
function minute(meeting: { startsAt: string }, minutes: number): number {
  return Date.parse(meeting.startsAt) + minutes * MINUTE_MS;
}

describe('LiveKit webhook', () => {
  let harness: BookingHarness;
  before(async () => {
    harness = await startBookingHarness();
  });
  after(async () => {
    await harness?.close();
  });

  describe('signature', () => {
    it('when an event is forged (another secret or key), unsigned or tampered with, then 401 unauthorized, nothing is stored and the workflow gets nothing', async () => {
      const { student, meeting, booking } = await bookedClass(harness);
      const event = participantEvent('participant_joined', {
        meetingId: meeting.id,
        userId: student.user.id,
        atMs: minute(meeting, 0),
      });
      const body = JSON.stringify(event);
      const forged = await signWebhook(event, { apiKey: 'devkey', apiSecret: 'not-the-secret' });
      const otherKey = await signWebhook(event, { apiKey: 'APIotherkey', apiSecret: 'secret' });
      const genuine = await signWebhook(event);
      // A valid signature of another body: the same event claiming a later time.
      const tampered = JSON.stringify({ ...event, createdAt: String(Number(event.createdAt) + 3_600) });
      const storedBefore = await storedEvents(harness);

      const attempts: [string, ApiResponse][] = [
        [
          'forged',
          await postWebhook(harness, forged.body, {
            'Content-Type': 'application/webhook+json',
            Authorization: forged.authorization,
          }),
        ],
        [
          'signed with another API key',
          await postWebhook(harness, otherKey.body, {
            'Content-Type': 'application/webhook+json',
            Authorization: otherKey.authorization,
          }),
        ],
        ['unsigned', await postWebhook(harness, body, { 'Content-Type': 'application/webhook+json' })],
        [
          'tampered',
          await postWebhook(harness, tampered, {
            'Content-Type': 'application/webhook+json',
            Authorization: genuine.authorization,
          }),
        ],
      ];
      for (const [what, response] of attempts) {
        assert.equal(response.status, 401, `${what}: ${response.text}`);
        assert.equal(response.body.error.code, 'unauthorized', what);
        assert.equal(typeof response.body.error.message, 'string', what);
      }
      assert.equal(await storedCopies(harness, event.id), 0);
      assert.equal(await storedEvents(harness), storedBefore);
      assert.equal((await bookingState(harness, booking.id)).eventsReceived, 0);

      // The same event signed as LiveKit signs it gets through: the refusals above were the signature's.
      const accepted = await postWebhook(harness, genuine.body, {
        'Content-Type': 'application/webhook+json',
        Authorization: genuine.authorization,
      });
      assert.equal(accepted.status, 200, accepted.text);
      assert.deepEqual(accepted.body, { result: 'routed', duplicate: false, bookings: 1 });
      assert.equal(await storedCopies(harness, event.id), 1);
      assert.equal((await bookingState(harness, booking.id)).eventsReceived, 1);
    });
  });

  describe('content type', () => {
    it('when the event comes as application/webhook+json or application/json, then it is taken; as text/plain, then 400 validation_error and nothing is stored', async () => {
      const { student, meeting, booking } = await bookedClass(harness);
      const events = [0, 1, 2].map((i) =>
        participantEvent('participant_joined', {
          meetingId: meeting.id,
          userId: student.user.id,
          atMs: minute(meeting, i),
          sid: `PA_conn${i}`,
        }),
      );
      const contentTypes = ['application/webhook+json', 'application/json', 'text/plain'];
      const responses: ApiResponse[] = [];
      for (const [i, event] of events.entries()) {
        const signed = await signWebhook(event);
        responses.push(
          await postWebhook(harness, signed.body, {
            'Content-Type': contentTypes[i],
            Authorization: signed.authorization,
          }),
        );
      }
      assert.equal(responses[0]!.status, 200, responses[0]!.text);
      assert.equal(responses[0]!.body.result, 'routed');
      assert.equal(responses[1]!.status, 200, responses[1]!.text);
      assert.equal(responses[1]!.body.result, 'routed');
      assert.equal(responses[2]!.status, 400, responses[2]!.text);
      assert.equal(responses[2]!.body.error.code, 'validation_error');
      assert.deepEqual(await Promise.all(events.map((e) => storedCopies(harness, e.id))), [1, 1, 0]);
      assert.equal((await bookingState(harness, booking.id)).eventsReceived, 2);
    });
  });

  describe('signed but unusable events', () => {
    it('when a signed body is not an event (not JSON, a list, a time in words, a number for a name), then 400 validation_error, not 401, and nothing is stored', async () => {
      const { student, meeting } = await bookedClass(harness);
      const storedBefore = await storedEvents(harness);
      const base = participantEvent('participant_joined', {
        meetingId: meeting.id,
        userId: student.user.id,
        atMs: minute(meeting, 1),
      });
      const signedRaw = async (body: string) => {
        const token = new AccessToken('devkey', 'secret');
        token.sha256 = createHash('sha256').update(body).digest('base64');
        return { body, authorization: await token.toJwt() };
      };
      for (const [what, signed] of [
        ['not JSON', await signedRaw('not json')],
        ['a list', await signedRaw('[]')],
        ['a time in words', await signWebhook({ ...base, createdAt: 'yesterday' })],
        ['a number for the event', await signWebhook({ ...base, event: 123 })],
      ] as const) {
        const response = await harness.api.request('POST', '/api/v1/webhooks/livekit', {
          rawBody: signed.body,
          headers: { 'Content-Type': 'application/webhook+json', Authorization: signed.authorization },
        });
        assert.equal(response.status, 400, `${what}: ${response.text}`);
        assert.equal(response.body.error.code, 'validation_error', what);
      }
      assert.equal(await storedEvents(harness), storedBefore);
    });

    it('when a signed event has no id, an id too long to store or an impossible time, then 400 validation_error and nothing is stored', async () => {
      const { student, meeting } = await bookedClass(harness);
      const storedBefore = await storedEvents(harness);
      const base = participantEvent('participant_joined', {
        meetingId: meeting.id,
        userId: student.user.id,
        atMs: minute(meeting, 1),
      });
      for (const [what, event] of [
        ['no id', { ...base, id: '' }],
        ['an id of 201 characters', { ...base, id: 'E'.repeat(201) }],
        ['a time past the year 2999', { ...base, createdAt: '99999999999999' }],
      ] as const) {
        const response = await sendWebhook(harness, event);
        assert.equal(response.status, 400, `${what}: ${response.text}`);
        assert.equal(response.body.error.code, 'validation_error', what);
      }
      assert.equal(await storedEvents(harness), storedBefore);
    });
  });

  describe('events nobody uses', () => {
    it('when an event is for an unknown room, a room that is not a meeting, an unknown identity, or of a kind attendance does not use, then 200 ignored, stored once, and no workflow hears of it', async () => {
      const { teacher, student, meeting, booking } = await bookedClass(harness);
      const stranger = await register(harness.api, 'student');
      const atMs = minute(meeting, 5);
      const ours = participantEvent('participant_joined', {
        meetingId: meeting.id,
        userId: student.user.id,
        atMs,
      });
      const cases: [string, Event][] = [
        [
          'unknown meeting',
          participantEvent('participant_joined', { meetingId: randomUUID(), userId: student.user.id, atMs }),
        ],
        [
          'room that is not meeting-<uuid>',
          { ...ours, id: `EV_${randomUUID()}`, room: { sid: 'RM_lobby', name: 'lobby' } },
        ],
        [
          'meeting- without a uuid',
          { ...ours, id: `EV_${randomUUID()}`, room: { sid: 'RM_x', name: 'meeting-not-a-uuid' } },
        ],
        [
          'user who has no booking of it',
          participantEvent('participant_joined', { meetingId: meeting.id, userId: stranger.user.id, atMs }),
        ],
        [
          'identity that is no user',
          {
            ...ours,
            id: `EV_${randomUUID()}`,
            participant: { sid: 'PA_egress', identity: 'egress-recorder' },
          },
        ],
        [
          'track_published',
          {
            ...ours,
            id: `EV_${randomUUID()}`,
            event: 'track_published',
            track: { sid: 'TR_audio', type: 'AUDIO', source: 'MICROPHONE' },
          },
        ],
        ['room_started', { ...roomFinishedEvent({ meetingId: meeting.id, atMs }), event: 'room_started' }],
        [
          'participant_joined without a room',
          {
            event: 'participant_joined',
            id: `EV_${randomUUID()}`,
            createdAt: ours.createdAt,
            participant: ours.participant,
          },
        ],
      ];
      for (const [what, event] of cases) {
        const first = await sendWebhook(harness, event);
        assert.equal(first.status, 200, `${what}: ${first.text}`);
        assert.deepEqual(first.body, { result: 'ignored', duplicate: false, bookings: 0 }, what);
        const again = await sendWebhook(harness, event);
        assert.equal(again.status, 200, `${what} again: ${again.text}`);
        assert.deepEqual(again.body, { result: 'ignored', duplicate: true, bookings: 0 }, `${what} again`);
        assert.equal(await storedCopies(harness, event.id as string), 1, what);
      }
      assert.equal((await bookingState(harness, booking.id)).eventsReceived, 0);
      const teacherView = await harness.api.request('GET', `/api/v1/meetings/${meeting.id}`, {
        token: teacher.token,
      });
      assert.equal(teacherView.body.bookings.length, 1);
    });
  });

  describe('one who connects again and again', () => {
    it('when a participant’s joins and leaves in the room pass the number a booking keeps, then the next ones are stored but no longer signalled; other kinds of events count for nothing', async () => {
      const { teacher, student, meeting, booking } = await bookedClass(harness);
      const identity = `user-${student.user.id}`;
      // Track events by the thousand (a camera turned on and off) neither fill the cap nor the
      // stored events finalisation reads.
      const tracks = Array.from({ length: MAX_ATTENDANCE_EVENTS + 10 }, (_, i) => ({
        id: `EV_track_${booking.id}_${i}`,
        event: i % 2 === 0 ? 'track_published' : 'track_unpublished',
        room_name: `meeting-${meeting.id}`,
        identity,
        participant_sid: 'PA_0',
        occurred_at: new Date(minute(meeting, 0)),
      }));
      for (let i = 0; i < tracks.length; i += 500) {
        await harness.api.db('livekit_events').insert(tracks.slice(i, i + 500));
      }
      const before = participantEvent('participant_joined', {
        meetingId: meeting.id,
        userId: student.user.id,
        atMs: minute(meeting, 1),
      });
      assert.deepEqual((await sendWebhook(harness, before)).body, {
        result: 'routed',
        duplicate: false,
        bookings: 1,
      });
      const stored = await storedPresence(harness.api.db, {
        meetingId: meeting.id,
        studentId: student.user.id,
        teacherId: teacher.user.id,
      });
      assert.deepEqual(
        stored.map((e) => e.id),
        [before.id],
      );

      // As if the student had connected about 1,000 times: with the join above, the most a booking keeps.
      const flood = Array.from({ length: MAX_ATTENDANCE_EVENTS - 1 }, (_, i) => ({
        id: `EV_flood_${booking.id}_${i}`,
        event: i % 2 === 0 ? 'participant_joined' : 'participant_left',
        room_name: `meeting-${meeting.id}`,
        identity,
        participant_sid: `PA_${Math.floor(i / 2)}`,
        occurred_at: new Date(minute(meeting, 1)),
      }));
      for (let i = 0; i < flood.length; i += 500)
        await harness.api.db('livekit_events').insert(flood.slice(i, i + 500));
      const event = (n: number) =>
        participantEvent('participant_joined', {
          meetingId: meeting.id,
          userId: student.user.id,
          atMs: minute(meeting, 2 + n),
        });

      const last = await sendWebhook(harness, event(0));
      assert.deepEqual(last.body, { result: 'routed', duplicate: false, bookings: 1 });
      const beyond = event(1);
      const ignored = await sendWebhook(harness, beyond);
      assert.equal(ignored.status, 200, ignored.text);
      assert.deepEqual(ignored.body, { result: 'ignored', duplicate: false, bookings: 0 });
      assert.equal(await storedCopies(harness, beyond.id), 1);
      assert.equal((await bookingState(harness, booking.id)).eventsReceived, 2);
    });
  });

  describe('delivered more than once', () => {
    it('when every event arrives three times, then each is stored once, the workflow holds it once, the repeats say duplicate, and attendance and money come out as with one delivery', async function () {
      requireTimeSkipping(this, harness?.env);
      const once = await bookedClass(harness, 1_001);
      const thrice = await bookedClass(harness, 1_001);
      await harness.skipTo(
        new Date(Math.max(Date.parse(once.meeting.endsAt), Date.parse(thrice.meeting.endsAt))),
      );
      await untilPhase(harness, once.booking.id, 'open');
      await untilPhase(harness, thrice.booking.id, 'open');

      const presence = (c: typeof once): Event[] => [
        participantEvent('participant_joined', {
          meetingId: c.meeting.id,
          userId: c.teacher.user.id,
          atMs: minute(c.meeting, 0),
        }),
        participantEvent('participant_joined', {
          meetingId: c.meeting.id,
          userId: c.student.user.id,
          atMs: minute(c.meeting, 10),
        }),
        participantEvent('participant_left', {
          meetingId: c.meeting.id,
          userId: c.student.user.id,
          atMs: minute(c.meeting, 40),
        }),
        participantEvent('participant_left', {
          meetingId: c.meeting.id,
          userId: c.teacher.user.id,
          atMs: minute(c.meeting, 60),
        }),
      ];

      for (const event of presence(once)) {
        const response = await sendWebhook(harness, event);
        assert.deepEqual(response.body, { result: 'routed', duplicate: false, bookings: 1 });
      }
      for (const [i, event] of presence(thrice).entries()) {
        const answers = [];
        for (let delivery = 0; delivery < 3; delivery++)
          answers.push((await sendWebhook(harness, event)).body);
        assert.deepEqual(answers, [
          { result: 'routed', duplicate: false, bookings: 1 },
          { result: 'routed', duplicate: true, bookings: 1 },
          { result: 'routed', duplicate: true, bookings: 1 },
        ]);
        assert.equal(await storedCopies(harness, event.id as string), 1);
        assert.equal((await bookingState(harness, thrice.booking.id)).eventsReceived, i + 1);
      }
      assert.equal((await bookingState(harness, once.booking.id)).eventsReceived, 4);

      await finishRoom(harness, once.meeting);
      const finished = roomFinishedEvent({
        meetingId: thrice.meeting.id,
        atMs: Date.parse(thrice.meeting.endsAt),
      });
      const finishAnswers = [];
      for (let delivery = 0; delivery < 3; delivery++)
        finishAnswers.push(await sendWebhook(harness, finished));
      assert.deepEqual(
        finishAnswers.map((r) => [r.status, r.body.duplicate]),
        [
          [200, false],
          [200, true],
          [200, true],
        ],
      );
      assert.equal(await storedCopies(harness, finished.id), 1);

      const outcomes = [await settled(harness, once.booking.id), await settled(harness, thrice.booking.id)];
      assert.equal((await bookingState(harness, thrice.booking.id)).eventsReceived, 5);
      const views = [
        await bookingView(harness, once.student, once.booking.id),
        await bookingView(harness, thrice.student, thrice.booking.id),
      ];
      // 30 of 60 minutes: released, 30% of 1001 rounded down to the teacher.
      for (const [i, view] of views.entries()) {
        assert.deepEqual(view.attendance, { seconds: 1_800, percent: 50, teacherSeconds: 3_600 });
        assert.equal(view.outcome, 'attended');
        assert.equal(view.settlement, 'released');
        assert.deepEqual(view.amounts, { refunded: 0, teacher: 300, platform: 701 });
        assert.deepEqual(outcomes[i]!.amounts, view.amounts);
      }
      for (const c of [once, thrice]) {
        assert.deepEqual(await walletOf(harness.api, c.student.user.id), {
          available: 3_999,
          held: 0,
          total: 3_999,
        });
        assert.equal((await earningsOf(harness.api, c.teacher.user.id)).available, 300);
      }
      await assertAuditClean(harness.api);
    });
  });

  describe('routing', () => {
    it('when the teacher’s events arrive, then every booking of the meeting gets them; a student’s reach only that student’s booking', async () => {
      const teacher = await register(harness.api, 'teacher');
      const [ann, bob] = [(await cast(harness.api)).student, (await cast(harness.api)).student];
      const meeting = await publishSlot(harness, teacher, { capacity: 2 });
      const annBooking = await bookOk(harness, ann, meeting.id);
      const bobBooking = await bookOk(harness, bob, meeting.id);
      const received = async () => [
        (await bookingState(harness, annBooking.id)).eventsReceived,
        (await bookingState(harness, bobBooking.id)).eventsReceived,
      ];

      const teacherJoined = await sendWebhook(
        harness,
        participantEvent('participant_joined', {
          meetingId: meeting.id,
          userId: teacher.user.id,
          atMs: minute(meeting, 0),
        }),
      );
      assert.deepEqual(teacherJoined.body, { result: 'routed', duplicate: false, bookings: 2 });
      assert.deepEqual(await received(), [1, 1]);

      const annJoined = await sendWebhook(
        harness,
        participantEvent('participant_joined', {
          meetingId: meeting.id,
          userId: ann.user.id,
          atMs: minute(meeting, 1),
        }),
      );
      assert.deepEqual(annJoined.body, { result: 'routed', duplicate: false, bookings: 1 });
      assert.deepEqual(await received(), [2, 1]);

      const bobLeft = await sendWebhook(
        harness,
        participantEvent('participant_left', {
          meetingId: meeting.id,
          userId: bob.user.id,
          atMs: minute(meeting, 2),
        }),
      );
      assert.deepEqual(bobLeft.body, { result: 'routed', duplicate: false, bookings: 1 });
      assert.deepEqual(await received(), [2, 2]);

      const teacherLeft = await sendWebhook(
        harness,
        participantEvent('participant_left', {
          meetingId: meeting.id,
          userId: teacher.user.id,
          atMs: minute(meeting, 3),
        }),
      );
      assert.deepEqual(teacherLeft.body, { result: 'routed', duplicate: false, bookings: 2 });
      assert.deepEqual(await received(), [3, 3]);
    });
  });

  describe('attendance through LiveKit’s misbehaviour', () => {
    it('when the student reconnects and the old connection’s leave comes after the new join, a leave is lost, the room finishes early and everything arrives out of order, then attendance is exact and the money is released', async function () {
      requireTimeSkipping(this, harness?.env);
      const { teacher, student, meeting, booking } = await bookedClass(harness, 1_000);
      await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
      await untilPhase(harness, booking.id, 'open');
      await harness.skipTo(new Date(minute(meeting, 55)));

      const at = (minutes: number) => minute(meeting, minutes);
      const studentEvent = (kind: 'participant_joined' | 'participant_left', sid: string, minutes: number) =>
        participantEvent(kind, { meetingId: meeting.id, userId: student.user.id, atMs: at(minutes), sid });
      const e = {
        // The teacher joins at the start and never leaves: closed when the room finishes.
        teacherJoined: participantEvent('participant_joined', {
          meetingId: meeting.id,
          userId: teacher.user.id,
          atMs: at(0),
          sid: 'PA_teacher',
        }),
        aJoined: studentEvent('participant_joined', 'PA_first', 5),
        // Reconnect: a new connection at 20; LiveKit notices the old one gone only at 21.
        bJoined: studentEvent('participant_joined', 'PA_second', 20),
        aLeft: studentEvent('participant_left', 'PA_first', 21),
        bLeft: studentEvent('participant_left', 'PA_second', 30),
        // A third connection whose participant_left never comes.
        cJoined: studentEvent('participant_joined', 'PA_third', 40),
        // The teacher ends the class 10 minutes early.
        finished: roomFinishedEvent({ meetingId: meeting.id, atMs: at(50) }),
        // Someone else's class at the same time.
        elsewhere: participantEvent('participant_joined', {
          meetingId: randomUUID(),
          userId: student.user.id,
          atMs: at(0),
        }),
      };
      const arrival = [
        e.bLeft,
        e.bJoined,
        e.finished,
        e.elsewhere,
        e.cJoined,
        e.teacherJoined,
        e.aLeft,
        e.bJoined,
        e.aJoined,
      ];
      for (const event of arrival) {
        const response = await sendWebhook(harness, event);
        assert.equal(response.status, 200, response.text);
      }
      // [5, 21] and [20, 30] overlap: 25 minutes; [40, 50]: 10 more. The teacher: [0, 50].
      const during = await bookingState(harness, booking.id);
      assert.equal(during.eventsReceived, 7);
      assert.equal(during.phase, 'open', 'a room_finished before the scheduled end does not finalise');
      assert.equal(during.attendance.seconds, 35 * 60);
      assert.equal(during.attendance.teacherSeconds, 50 * 60);

      const outcome = await settled(harness, booking.id);
      assert.ok(harness.clock.now().getTime() >= Date.parse(meeting.endsAt) + 5 * MINUTE_MS);
      assert.equal(outcome.outcome, 'attended');
      assert.equal(outcome.settlement, 'released');
      assert.deepEqual(outcome.amounts, { refunded: 0, teacher: 300, platform: 700 });
      const view = await bookingView(harness, student, booking.id);
      assert.deepEqual(view.attendance, { seconds: 2_100, percent: 58.33, teacherSeconds: 3_000 });
      assert.equal(view.status, 'completed');
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 4_000,
        held: 0,
        total: 4_000,
      });
      assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 300);
      await assertAuditClean(harness.api);
    });

    it('when the student’s participant_left never comes and the room never finishes, then the connection counts until the scheduled end (here: too little, refunded)', async function () {
      requireTimeSkipping(this, harness?.env);
      const { teacher, student, meeting, booking } = await bookedClass(harness, 1_000);
      await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
      await untilPhase(harness, booking.id, 'open');
      await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
      // Left before the class started, joined 10 minutes before the end and never seen leaving.
      await attend(harness, meeting, student.user.id, -10, -5);
      await attend(harness, meeting, student.user.id, 50, null);
      await attend(harness, meeting, teacher.user.id, 0, 60);

      const outcome = await settled(harness, booking.id);
      assert.equal(outcome.outcome, 'low_attendance');
      assert.equal(outcome.settlement, 'refunded');
      assert.deepEqual(outcome.amounts, { refunded: 1_000, teacher: 0, platform: 0 });
      const view = await bookingView(harness, student, booking.id);
      assert.deepEqual(view.attendance, { seconds: 600, percent: 16.66, teacherSeconds: 3_600 });
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 5_000,
        held: 0,
        total: 5_000,
      });
      await assertAuditClean(harness.api);
    });
  });
});

// ---- closing the room -------------------------------------------------------------

interface TwirpCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: any;
}

/** LiveKit's Twirp API, as far as RoomService.DeleteRoom goes: records each call; rooms in `failing` get 500. */
async function fakeLiveKitServer(): Promise<{
  url: string;
  calls: TwirpCall[];
  failing: Set<string>;
  server: Server;
}> {
  const calls: TwirpCall[] = [];
  const failing = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        // recorded as text
      }
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      });
      const fail = typeof body === 'object' && body !== null && failing.has(body.room);
      res.writeHead(fail ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(fail ? { code: 'internal', msg: 'LiveKit is having a bad day' } : {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, failing, server };
}

describe('LiveKit room at finalisation (LIVEKIT_URL configured)', () => {
  let harness: BookingHarness;
  let livekit: Awaited<ReturnType<typeof fakeLiveKitServer>>;
  before(async () => {
    livekit = await fakeLiveKitServer();
    harness = await startBookingHarness(
      { LIVEKIT_URL: livekit.url },
      { activities: { livekit: new LiveKit({ url: livekit.url, apiKey: 'devkey', apiSecret: 'secret' }) } },
    );
  });
  after(async () => {
    await harness?.close();
    if (livekit !== undefined) await new Promise((resolve) => livekit.server.close(resolve));
  });

  const callsFor = (meetingId: string) =>
    livekit.calls.filter((c) => typeof c.body === 'object' && c.body?.room === `meeting-${meetingId}`);

  async function attendedClass() {
    const { teacher, student, meeting, booking } = await bookedClass(harness, 1_000);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, teacher.user.id, 0, 60);
    await attend(harness, meeting, student.user.id, 0, 60);
    return { teacher, student, meeting, booking };
  }

  it('when a class is finalised, then its room is deleted through RoomService.DeleteRoom with a roomCreate token of the API key', async function () {
    requireTimeSkipping(this, harness?.env);
    const { meeting, booking } = await attendedClass();
    assert.deepEqual(callsFor(meeting.id), [], 'nothing is closed before finalisation');
    await finishRoom(harness, meeting);
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.settlement, 'released');

    const calls = callsFor(meeting.id);
    assert.equal(calls.length, 1, JSON.stringify(calls));
    const [call] = calls;
    assert.equal(call!.method, 'POST');
    assert.equal(call!.path, '/twirp/livekit.RoomService/DeleteRoom');
    assert.deepEqual(call!.body, { room: `meeting-${meeting.id}` });
    const bearer = /^Bearer (.+)$/.exec(call!.authorization ?? '');
    assert.ok(bearer, `Authorization: ${call!.authorization}`);
    const { payload } = await jwtVerify(bearer[1]!, new TextEncoder().encode('secret'), {
      algorithms: ['HS256'],
    });
    assert.equal(payload.iss, 'devkey');
    assert.equal((payload as any).video?.roomCreate, true);
    await assert.rejects(jwtVerify(bearer[1]!, new TextEncoder().encode('another-secret')));
  });

  it('when LiveKit answers 500 to every DeleteRoom, then the room is tried a few times and the booking settles all the same', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student, meeting, booking } = await attendedClass();
    livekit.failing.add(`meeting-${meeting.id}`);
    await finishRoom(harness, meeting);
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'attended');
    assert.equal(outcome.settlement, 'released');
    assert.deepEqual(outcome.amounts, { refunded: 0, teacher: 300, platform: 700 });
    // BEST_EFFORT_CALL: five attempts, then given up.
    assert.equal(callsFor(meeting.id).length, 5);
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 4_000,
      held: 0,
      total: 4_000,
    });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 300);
    const view = await bookingView(harness, student, booking.id);
    assert.equal(view.status, 'completed');
    await assertAuditClean(harness.api);
  });
});
