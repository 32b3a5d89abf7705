// Meetings and courses: teachers publish, everyone signed in browses.
import {
  createCourse,
  getCourse,
  getMeeting,
  MAX_SCHEDULE_AHEAD_DAYS,
  publishSlot,
  upcomingSlots,
  type MeetingDeps,
} from '../../bookings/meetings';
import { cancelMeeting, enrollInCourse, joinMeeting, type BookingDeps } from '../../bookings/service';
import { idempotencyKeyOf } from '../idempotency';
import type { ApiRoutes } from '../route';
import { amountSchema, IdParams, IsoTimestamp, periodOf, text, Uuid } from '../schemas';
import { z } from '../zod';
import { Booking, Course, JoinInfo, Meeting, MeetingDetail } from './booking-schemas';

const ALL_ROLES = ['student', 'teacher', 'admin'] as const;

const duration = z.number().int().min(1).max(480).openapi({ description: 'Minutes, 1..480' });

export function meetingRoutes(
  routes: ApiRoutes,
  deps: { meetings: MeetingDeps; bookings: BookingDeps; maxAmountMinor: number },
): void {
  const amount = amountSchema(deps.maxAmountMinor);

  routes.add({
    method: 'post',
    path: '/teachers/me/slots',
    summary: 'Publish a bookable meeting',
    tags: ['meetings'],
    access: ['teacher'],
    body: z
      .object({
        startsAt: IsoTimestamp.openapi({
          description: `In the future, at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`,
        }),
        durationMinutes: duration,
        price: amount,
        capacity: z
          .number()
          .int()
          .min(1)
          .max(50)
          .default(1)
          .openapi({ description: 'Seats, 1..50 (default 1)' }),
        title: text({ min: 1, max: 200, trim: true }).optional(),
      })
      .strict()
      .openapi('NewSlot'),
    success: { status: 201, description: 'The meeting', schema: Meeting },
    handler: async ({ user, body }) => ({
      status: 201,
      body: await publishSlot(deps.meetings, user, {
        startsAt: new Date(body.startsAt),
        durationMinutes: body.durationMinutes,
        price: body.price,
        capacity: body.capacity,
        title: body.title ?? null,
      }),
    }),
  });

  routes.add({
    method: 'get',
    path: '/teachers/:id/slots',
    summary: "A teacher's upcoming meetings with seats left",
    tags: ['meetings'],
    access: ALL_ROLES,
    params: IdParams,
    query: z
      .object({
        from: IsoTimestamp.optional().openapi({
          description: 'Starting at or after (default now; before to, when both are given)',
        }),
        to: IsoTimestamp.optional().openapi({ description: 'Starting before (default 60 days on)' }),
      })
      .strict(),
    success: {
      status: 200,
      description: 'Soonest first, at most 200',
      schema: z.object({ data: z.array(Meeting) }),
    },
    handler: async ({ params, query }) => ({
      status: 200,
      body: {
        data: await upcomingSlots(deps.meetings, params.id, periodOf(query)),
      },
    }),
  });

  routes.add({
    method: 'post',
    path: '/courses',
    summary: 'Publish a course: one meeting per session',
    tags: ['meetings'],
    access: ['teacher'],
    body: z
      .object({
        title: text({ min: 1, max: 200, trim: true }),
        description: text({ max: 5000 }).optional(),
        capacity: z.number().int().min(1).max(50),
        pricePerSession: amount,
        priceFullCourse: amount.optional().openapi({
          description: 'Price of enrolling in the whole course, split evenly over its sessions',
        }),
        sessions: z
          .array(
            z
              .object({
                startsAt: IsoTimestamp.openapi({
                  description: `In the future, at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`,
                }),
                durationMinutes: duration,
              })
              .strict(),
          )
          .min(1)
          .max(100)
          .openapi({ description: 'One after another: a session overlapping another is refused (400)' }),
      })
      .strict()
      .openapi('NewCourse'),
    success: { status: 201, description: 'The course with its sessions', schema: Course },
    handler: async ({ user, body }) => ({
      status: 201,
      body: await createCourse(deps.meetings, user, {
        title: body.title,
        description: body.description ?? null,
        capacity: body.capacity,
        pricePerSession: body.pricePerSession,
        priceFullCourse: body.priceFullCourse ?? null,
        sessions: body.sessions.map((s) => ({
          startsAt: new Date(s.startsAt),
          durationMinutes: s.durationMinutes,
        })),
      }),
    }),
  });

  routes.add({
    method: 'get',
    path: '/courses/:id',
    summary: 'A course with its sessions and seats left',
    tags: ['meetings'],
    access: ALL_ROLES,
    params: IdParams,
    success: { status: 200, description: 'The course', schema: Course },
    errors: [404],
    handler: async ({ params }) => ({ status: 200, body: await getCourse(deps.meetings, params.id) }),
  });

  routes.add({
    method: 'post',
    path: '/courses/:id/enroll',
    summary: 'Book every session still to come, at the full-course price, all or nothing',
    tags: ['bookings'],
    access: ['student'],
    idempotent: true,
    params: IdParams,
    success: {
      status: 201,
      description: 'The bookings made (one per session) and what is held for them',
      schema: z
        .object({ courseId: Uuid, total: z.number().int(), bookings: z.array(Booking) })
        .openapi('Enrolment'),
    },
    errors: [402, 404, 409],
    handler: async ({ user, params, req }) => ({
      status: 201,
      body: await enrollInCourse(deps.bookings, user, {
        courseId: params.id,
        idempotencyKey: idempotencyKeyOf(req),
      }),
    }),
  });

  routes.add({
    method: 'get',
    path: '/meetings/:id',
    summary: 'A meeting, with its bookings (its teacher and admins see all of them)',
    tags: ['meetings'],
    access: ALL_ROLES,
    params: IdParams,
    success: { status: 200, description: 'The meeting', schema: MeetingDetail },
    errors: [404],
    handler: async ({ user, params }) => ({
      status: 200,
      body: await getMeeting(deps.meetings, user, params.id),
    }),
  });

  routes.add({
    method: 'get',
    path: '/meetings/:id/join',
    summary:
      'A LiveKit token for the class, to its teacher, from the opening of its bookings to the end (students join through their booking)',
    tags: ['meetings'],
    access: ['teacher'],
    params: IdParams,
    success: { status: 200, description: 'Where and how to join', schema: JoinInfo },
    errors: [404, 409],
    handler: async ({ user, params }) => ({
      status: 200,
      body: await joinMeeting(deps.bookings, user, params.id),
    }),
  });

  routes.add({
    method: 'post',
    path: '/meetings/:id/cancel',
    summary: 'Cancel a meeting before it starts: every student is refunded in full',
    tags: ['meetings'],
    access: ['teacher', 'admin'],
    params: IdParams,
    body: z
      .object({ reason: text({ max: 1000 }).optional() })
      .strict()
      .openapi('CancelRequest'),
    success: {
      status: 200,
      description: 'The meeting’s bookings after the cancellation',
      schema: z.object({ meetingId: Uuid, bookings: z.array(Booking) }).openapi('MeetingCancellation'),
    },
    errors: [404, 409, 503],
    handler: async ({ user, params, body }) => ({
      status: 200,
      body: await cancelMeeting(deps.bookings, user, params.id, body.reason),
    }),
  });
}
