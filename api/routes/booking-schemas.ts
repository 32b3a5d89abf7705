// Schemas of meetings, courses and bookings, as the API shows them (SPEC section 4).
import { BOOKING_STATUSES, OUTCOMES, SETTLEMENTS } from '../../domain/booking';
import { CANCELLATION_OUTCOMES } from '../../domain/cancellation';
import { IsoTimestamp, Uuid } from '../schemas';
import { z } from '../zod';

export const Meeting = z
  .object({
    id: Uuid,
    teacherId: Uuid,
    courseId: Uuid.nullable(),
    title: z.string().nullable(),
    startsAt: IsoTimestamp,
    endsAt: IsoTimestamp,
    durationMinutes: z.number().int(),
    price: z.number().int().openapi({ description: 'Minor units' }),
    capacity: z.number().int(),
    seatsLeft: z.number().int(),
    status: z.enum(['scheduled', 'cancelled']),
    createdAt: IsoTimestamp,
  })
  .openapi('Meeting');

export const Attendance = z
  .object({
    seconds: z.number().int().openapi({ description: 'Seconds the student was present within the class' }),
    percent: z.number().openapi({ description: 'Of the class length, rounded down to 2 decimals' }),
    teacherSeconds: z.number().int(),
  })
  .openapi('Attendance');

export const Booking = z
  .object({
    id: Uuid,
    meetingId: Uuid,
    studentId: Uuid,
    teacherId: Uuid,
    title: z.string().nullable().openapi({
      description: 'The class’s title (its course’s for a course session); null for an untitled slot',
    }),
    teacherName: z.string(),
    studentName: z.string(),
    price: z.number().int(),
    status: z.enum(BOOKING_STATUSES),
    settlement: z.enum(SETTLEMENTS),
    outcome: z.enum(OUTCOMES).nullable(),
    attendance: Attendance.nullable(),
    amounts: z
      .object({ refunded: z.number().int(), teacher: z.number().int(), platform: z.number().int() })
      .nullable()
      .openapi({ description: 'Where the price went once settled (minor units); null while held' }),
    startsAt: IsoTimestamp,
    endsAt: IsoTimestamp,
    workflowId: z.string().openapi({ example: 'booking-3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10' }),
    workflowUrl: z.string().nullable().openapi({
      description:
        'Admins only: the workflow in the Temporal UI (`TEMPORAL_UI_URL`) or the dev server’s inspector; null for everyone else, and when neither is known',
      example:
        'https://temporal.example.com/namespaces/default/workflows/booking-3f1c6a0e-8d7b-4a51-9e0f-2b6c9d4e7a10',
    }),
    createdAt: IsoTimestamp,
  })
  .openapi('Booking');

export const MeetingDetail = Meeting.extend({ bookings: z.array(Booking) }).openapi('MeetingDetail');

export const Course = z
  .object({
    id: Uuid,
    teacherId: Uuid,
    title: z.string(),
    description: z.string().nullable(),
    capacity: z.number().int(),
    pricePerSession: z.number().int(),
    priceFullCourse: z.number().int().nullable(),
    sessions: z.array(Meeting),
    createdAt: IsoTimestamp,
  })
  .openapi('Course');

export const BookingPage = z
  .object({ data: z.array(Booking), nextCursor: z.string().nullable() })
  .openapi('BookingPage');

export const Interval = z.object({ fromMs: z.number().int(), toMs: z.number().int() });

export const ReviewItem = z
  .object({
    booking: Booking,
    reason: z.enum(OUTCOMES).nullable().openapi({ description: 'Why it is in review' }),
    disputeReason: z.string().nullable(),
    evidence: z.object({
      attendance: Attendance.extend({
        studentIntervals: z.array(Interval),
        teacherIntervals: z.array(Interval),
        eventsDropped: z.boolean(),
      }).nullable(),
      events: z.array(
        z.object({
          id: z.string(),
          event: z.string(),
          identity: z.string().nullable(),
          participantSid: z.string().nullable(),
          at: IsoTimestamp,
        }),
      ),
    }),
  })
  .openapi('ReviewItem');

export const JoinInfo = z
  .object({ url: z.string(), roomName: z.string(), token: z.string() })
  .openapi('JoinInfo');

export const CancellationPreview = z
  .object({
    allowed: z.boolean().openapi({ description: 'Whether a cancel asked now would be accepted' }),
    reason: z
      .enum(['already_cancelled', 'already_settled', 'in_review', 'class_started'])
      .nullable()
      .openapi({ description: 'Why not, when `allowed` is false; null otherwise' }),
    message: z.string().nullable().openapi({ description: 'The reason in words; null when allowed' }),
    by: z.enum(['student', 'teacher', 'admin']).nullable().openapi({
      description:
        'Whose terms apply (the caller’s, or the canceller’s of a meeting already cancelled); null when not allowed',
    }),
    outcome: z
      .enum(CANCELLATION_OUTCOMES)
      .nullable()
      .openapi({ description: 'The booking’s outcome if cancelled now; null when not allowed' }),
    refundPercent: z.number().int().nullable(),
    refund: z.number().int().nullable().openapi({ description: 'Back to the student (minor units)' }),
    fee: z.number().int().nullable().openapi({
      description: 'Kept as a late-cancellation fee: feeToTeacher + feeToPlatform (minor units)',
    }),
    feeToTeacher: z.number().int().nullable(),
    feeToPlatform: z.number().int().nullable(),
  })
  .openapi('CancellationPreview', {
    description:
      'What cancelling now would do, by the same rule the booking’s workflow applies, over the policy copied into the booking. A preview: the workflow decides when the cancel is asked (the clock moves on; 409 if the class started meanwhile).',
  });
