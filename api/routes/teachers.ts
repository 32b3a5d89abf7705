// Browsing teachers (students pick whom to book) and a teacher's own classes.
import {
  listTeachers,
  ownMeetings,
  teacherCourses,
  teacherSummary,
  type ListingDeps,
} from '../../bookings/listings';
import { NotFoundError } from '../errors';
import type { Position } from '../../db/keyset';
import { pageBody, positionOf, type Listing } from '../cursors';
import type { ApiRoutes } from '../route';
import { Cursor, IdParams, IsoTimestamp, pageLimit, periodOf, text, Uuid } from '../schemas';
import { z } from '../zod';
import { Meeting } from './booking-schemas';

const TeacherSummary = z
  .object({
    id: Uuid,
    name: z.string(),
    upcomingMeetings: z
      .number()
      .int()
      .openapi({ description: 'Meetings still to start, not cancelled, with a seat left' }),
  })
  .openapi('TeacherSummary');

const OwnMeeting = Meeting.extend({
  bookedCount: z.number().int().openapi({ description: 'Bookings holding a seat (every one not cancelled)' }),
}).openapi('OwnMeeting');

const CourseOffer = z
  .object({
    id: Uuid,
    teacherId: Uuid,
    title: z.string(),
    description: z.string().nullable(),
    capacity: z.number().int(),
    pricePerSession: z.number().int().openapi({ description: 'Minor units' }),
    priceFullCourse: z.number().int().nullable().openapi({
      description: 'The whole course’s price (minor units), split over all its sessions; null: per session',
    }),
    sessions: z.number().int().openapi({ description: 'Sessions in all' }),
    upcomingSessions: z
      .number()
      .int()
      .openapi({ description: 'Sessions still to come, not cancelled: what enrolling books' }),
    nextStartsAt: IsoTimestamp,
    lastEndsAt: IsoTimestamp,
    seatsLeft: z.number().int().openapi({
      description: 'Fewest seats left among the sessions to come (0: enrolling answers 409 slot_full)',
    }),
    enrolmentPrice: z
      .number()
      .int()
      .openapi({ description: 'What POST /courses/{id}/enroll would hold now (minor units)' }),
  })
  .openapi('CourseOffer');

function position(cursor: string | undefined, listing: Listing): { before?: Position } {
  return cursor === undefined ? {} : { before: positionOf(cursor, listing) };
}

export function teacherRoutes(routes: ApiRoutes, deps: ListingDeps): void {
  routes.add({
    method: 'get',
    path: '/teachers',
    summary: 'Teachers to browse, newest first, with how many classes they offer',
    tags: ['meetings'],
    access: ['student', 'teacher', 'admin'],
    query: z
      .object({
        q: text({ min: 1, max: 200, trim: true }).optional().openapi({
          description: 'Only names containing this, in any case (taken literally: no wildcards)',
        }),
        limit: pageLimit(100, 20),
        cursor: Cursor.optional(),
      })
      .strict(),
    success: {
      status: 200,
      description: 'A page of teachers',
      schema: z
        .object({ data: z.array(TeacherSummary), nextCursor: z.string().nullable() })
        .openapi('TeacherPage'),
    },
    handler: async ({ query }) => ({
      status: 200,
      body: pageBody(
        await listTeachers(deps, {
          limit: query.limit,
          ...(query.q === undefined ? {} : { q: query.q }),
          ...position(query.cursor, 'teachers'),
        }),
        'teachers',
      ),
    }),
  });

  routes.add({
    method: 'get',
    path: '/teachers/:id',
    summary: 'One teacher: their name and how many classes they offer',
    tags: ['meetings'],
    access: ['student', 'teacher', 'admin'],
    params: IdParams,
    success: { status: 200, description: 'The teacher', schema: TeacherSummary },
    errors: [404],
    handler: async ({ params }) => {
      const teacher = await teacherSummary(deps, params.id);
      if (teacher === undefined) throw new NotFoundError('teacher');
      return { status: 200, body: teacher };
    },
  });

  routes.add({
    method: 'get',
    path: '/teachers/me/meetings',
    summary: 'The teacher’s own meetings, past and upcoming (cancelled ones too), latest start first',
    tags: ['meetings'],
    access: ['teacher'],
    query: z
      .object({
        from: IsoTimestamp.optional().openapi({
          description: 'Starting at or after (before to, when both are given)',
        }),
        to: IsoTimestamp.optional().openapi({ description: 'Starting before' }),
        limit: pageLimit(100, 20),
        cursor: Cursor.optional(),
      })
      .strict(),
    success: {
      status: 200,
      description:
        'A page of meetings; each one’s bookings, with status and attendance, from GET /meetings/{id}',
      schema: z
        .object({ data: z.array(OwnMeeting), nextCursor: z.string().nullable() })
        .openapi('OwnMeetingPage'),
    },
    handler: async ({ user, query }) => ({
      status: 200,
      body: pageBody(
        await ownMeetings(deps, user.id, {
          limit: query.limit,
          ...periodOf(query),
          ...position(query.cursor, 'teacher-meetings'),
        }),
        'teacher-meetings',
      ),
    }),
  });

  routes.add({
    method: 'get',
    path: '/teachers/:id/courses',
    summary: 'A teacher’s courses with a session still to come, with seats left and what enrolling costs',
    tags: ['meetings'],
    access: ['student', 'teacher', 'admin'],
    params: IdParams,
    success: {
      status: 200,
      description: 'Soonest next session first, at most 100; sessions themselves from GET /courses/{id}',
      schema: z.object({ data: z.array(CourseOffer) }),
    },
    handler: async ({ params }) => ({ status: 200, body: { data: await teacherCourses(deps, params.id) } }),
  });
}
