// Bookings: made by students, followed by their workflow; cancel, dispute and
// resolve are answered by the workflow itself.
import { BOOKING_STATUSES } from '../../domain/booking';
import { CANCELLATION_OUTCOMES } from '../../domain/cancellation';
import {
  bookMeeting,
  bookingsOf,
  cancelBooking,
  disputeBooking,
  getBooking,
  joinBooking,
  previewCancellation,
  resolveReview,
  reviewQueue,
  type BookingDeps,
} from '../../bookings/service';
import { decodeKeyset, encodeKeyset, pageBody, positionOf } from '../cursors';
import { idempotencyKeyOf } from '../idempotency';
import type { ApiRoutes } from '../route';
import { Cursor, IdParams, pageLimit, text, Uuid } from '../schemas';
import { z } from '../zod';
import { Booking, BookingPage, CancellationPreview, JoinInfo, ReviewItem } from './booking-schemas';

const CancelBody = z
  .object({
    reason: text({ max: 1000 }).optional(),
    expectedOutcome: z.enum(CANCELLATION_OUTCOMES).optional().openapi({
      description:
        'The outcome GET /bookings/:id/cancellation showed. If cancelling now would give back less (the late-cancellation boundary passed meanwhile), the answer is 409 `terms_changed` and nothing changes; better terms go through.',
    }),
  })
  .strict()
  .openapi('CancelRequest');

const Resolution = z
  .object({
    decision: z.enum(['release', 'refund', 'partial']),
    refundPercent: z
      .number()
      .int()
      .min(0)
      .max(100)
      .optional()
      .openapi({ description: 'With `partial` only' }),
    note: text({ max: 2000 }).optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.decision === 'partial') !== (value.refundPercent !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['refundPercent'],
        message: 'required with decision "partial", and only with it',
      });
    }
  })
  .openapi('ReviewResolution');

export function bookingRoutes(routes: ApiRoutes, deps: BookingDeps): void {
  routes.add({
    method: 'post',
    path: '/bookings',
    summary: 'Book a meeting: its price is held and the booking’s workflow starts',
    tags: ['bookings'],
    access: ['student'],
    idempotent: true,
    body: z.object({ meetingId: Uuid }).strict().openapi('NewBooking'),
    success: { status: 201, description: 'The booking', schema: Booking },
    errors: [402, 404, 409],
    handler: async ({ user, body, req }) => ({
      status: 201,
      body: await bookMeeting(deps, user, {
        meetingId: body.meetingId,
        idempotencyKey: idempotencyKeyOf(req),
      }),
    }),
  });

  routes.add({
    method: 'get',
    path: '/bookings',
    summary: 'Own bookings (teachers: the bookings of their meetings; admins: all), newest first',
    tags: ['bookings'],
    access: ['student', 'teacher', 'admin'],
    query: z
      .object({
        status: z.enum(BOOKING_STATUSES).optional(),
        limit: pageLimit(100, 20),
        cursor: Cursor.optional(),
      })
      .strict(),
    success: { status: 200, description: 'A page of bookings', schema: BookingPage },
    handler: async ({ user, query }) => {
      const page = await bookingsOf(deps, user, {
        limit: query.limit,
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.cursor === undefined ? {} : { before: decodeKeyset(query.cursor, 'bookings') }),
      });
      return {
        status: 200,
        body: {
          data: page.data,
          nextCursor: page.next === null ? null : encodeKeyset(page.next, 'bookings'),
        },
      };
    },
  });

  routes.add({
    method: 'get',
    path: '/bookings/:id',
    summary: 'A booking (its student, its teacher, admins)',
    tags: ['bookings'],
    access: ['student', 'teacher', 'admin'],
    params: IdParams,
    success: { status: 200, description: 'The booking', schema: Booking },
    errors: [404],
    handler: async ({ user, params }) => ({ status: 200, body: await getBooking(deps, user, params.id) }),
  });

  routes.add({
    method: 'post',
    path: '/bookings/:id/cancel',
    summary: 'Cancel before the start, by the cancellation policy',
    tags: ['bookings'],
    access: ['student', 'teacher', 'admin'],
    params: IdParams,
    body: CancelBody,
    success: { status: 200, description: 'The booking, cancelled and settled', schema: Booking },
    errors: [404, 409, 503],
    handler: async ({ user, params, body }) => ({
      status: 200,
      body: await cancelBooking(deps, user, params.id, body),
    }),
  });

  routes.add({
    method: 'get',
    path: '/bookings/:id/cancellation',
    summary: 'What cancelling now would do for the caller (refund, fee and its split), before asking',
    tags: ['bookings'],
    access: ['student', 'teacher', 'admin'],
    params: IdParams,
    success: {
      status: 200,
      description: 'The terms a cancel asked now would get, or why it would be refused',
      schema: CancellationPreview,
    },
    errors: [404],
    handler: async ({ user, params }) => {
      const preview = await previewCancellation(deps, user, params.id);
      return {
        status: 200,
        body: preview.allowed
          ? { ...preview, reason: null, message: null }
          : {
              ...preview,
              by: null,
              outcome: null,
              refundPercent: null,
              refund: null,
              fee: null,
              feeToTeacher: null,
              feeToPlatform: null,
            },
      };
    },
  });

  routes.add({
    method: 'get',
    path: '/bookings/:id/join',
    summary: 'A LiveKit token for the class, from its opening to its end',
    tags: ['bookings'],
    access: ['student', 'teacher'],
    params: IdParams,
    success: { status: 200, description: 'Where and how to join', schema: JoinInfo },
    errors: [404, 409],
    handler: async ({ user, params }) => ({ status: 200, body: await joinBooking(deps, user, params.id) }),
  });

  routes.add({
    method: 'post',
    path: '/bookings/:id/dispute',
    summary: 'Dispute a class within the dispute window: it goes to an admin’s review',
    tags: ['bookings'],
    access: ['student'],
    params: IdParams,
    body: z
      .object({ reason: text({ min: 1, max: 2000, trim: true }) })
      .strict()
      .openapi('DisputeRequest'),
    success: { status: 200, description: 'The booking, in review', schema: Booking },
    errors: [404, 409, 503],
    handler: async ({ user, params, body }) => ({
      status: 200,
      body: await disputeBooking(deps, user, params.id, body.reason),
    }),
  });

  routes.add({
    method: 'get',
    path: '/admin/reviews',
    summary: 'Bookings waiting for an admin’s decision, with the attendance evidence',
    tags: ['admin'],
    access: ['admin'],
    query: z
      .object({
        limit: pageLimit(100, 50),
        cursor: Cursor.optional(),
        bookingId: Uuid.optional().openapi({
          description: 'Only this booking’s review (an empty page when it does not wait for one)',
        }),
      })
      .strict(),
    success: {
      status: 200,
      description: 'The longest waiting first; `nextCursor` pages on',
      schema: z
        .object({ data: z.array(ReviewItem), nextCursor: z.string().nullable() })
        .openapi('ReviewPage'),
    },
    handler: async ({ user, query }) => ({
      status: 200,
      body: pageBody(
        await reviewQueue(deps, user, {
          limit: query.limit,
          ...(query.cursor === undefined ? {} : { after: positionOf(query.cursor, 'reviews') }),
          ...(query.bookingId === undefined ? {} : { bookingId: query.bookingId }),
        }),
        'reviews',
      ),
    }),
  });

  routes.add({
    method: 'post',
    path: '/admin/reviews/:bookingId/resolve',
    summary: 'Decide a review: release, refund, or partial refund',
    tags: ['admin'],
    access: ['admin'],
    params: z.object({ bookingId: Uuid }).strict(),
    body: Resolution,
    success: { status: 200, description: 'The booking, settled by the workflow', schema: Booking },
    errors: [404, 409, 503],
    handler: async ({ user, params, body }) => ({
      status: 200,
      body: await resolveReview(deps, user, params.bookingId, {
        review:
          body.decision === 'partial'
            ? { decision: 'partial', refundPercent: body.refundPercent! }
            : { decision: body.decision },
        note: body.note,
      }),
    }),
  });
}
