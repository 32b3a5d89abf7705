// Browsing teachers (students pick whom to book) and a teacher's own classes.
import { listTeachers, ownMeetings, type ListingDeps, type Page } from '../../bookings/listings';
import { decodeKeyset, encodeKeyset } from '../cursors';
import type { ApiRoutes } from '../route';
import { Cursor, IsoTimestamp, pageLimit, text, Uuid } from '../schemas';
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

/** A page as the API sends it: the position of the next one as an opaque cursor. */
function pageBody<T>(page: Page<T>): { data: T[]; nextCursor: string | null } {
  return {
    data: page.data,
    nextCursor: page.next === null ? null : encodeKeyset({ createdAt: page.next.at, id: page.next.id }),
  };
}

function position(cursor: string | undefined): { before?: { at: string; id: string } } {
  if (cursor === undefined) return {};
  const keyset = decodeKeyset(cursor);
  return { before: { at: keyset.createdAt, id: keyset.id } };
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
          ...position(query.cursor),
        }),
      ),
    }),
  });

  routes.add({
    method: 'get',
    path: '/teachers/me/meetings',
    summary: 'The teacher’s own meetings, past and upcoming (cancelled ones too), latest start first',
    tags: ['meetings'],
    access: ['teacher'],
    query: z
      .object({
        from: IsoTimestamp.optional().openapi({ description: 'Starting at or after' }),
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
          ...(query.from === undefined ? {} : { from: new Date(query.from) }),
          ...(query.to === undefined ? {} : { to: new Date(query.to) }),
          ...position(query.cursor),
        }),
      ),
    }),
  });
}
