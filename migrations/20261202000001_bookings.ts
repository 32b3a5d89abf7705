// Meetings (a teacher's bookable class, alone or one session of a course),
// bookings (a student's seat and held price, each followed by one workflow),
// LiveKit's webhook events (stored once by id), and in-app notifications
// (at most one per user and event).
//
// Capacity is a database fact: `seats_taken` only moves by conditional
// updates, and a CHECK keeps it within capacity whatever code writes it. A
// student holds at most one live booking per meeting (a partial unique index).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table courses (
      id uuid primary key,
      teacher_id uuid not null references users (id),
      title text not null check (length(title) between 1 and 200),
      description text check (length(description) <= 5000),
      capacity int not null check (capacity between 1 and 50),
      price_per_session bigint not null check (price_per_session > 0),
      price_full_course bigint check (price_full_course > 0),
      created_at timestamptz not null default now()
    );
    create index courses_teacher_idx on courses (teacher_id, created_at);

    create table meetings (
      id uuid primary key,
      teacher_id uuid not null references users (id),
      course_id uuid references courses (id),
      title text check (length(title) <= 200),
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      price bigint not null check (price > 0),
      capacity int not null check (capacity between 1 and 50),
      seats_taken int not null default 0 check (seats_taken >= 0 and seats_taken <= capacity),
      status text not null default 'scheduled' check (status in ('scheduled', 'cancelled')),
      cancelled_at timestamptz,
      cancelled_by uuid references users (id),
      cancel_reason text check (length(cancel_reason) <= 1000),
      created_at timestamptz not null default now(),
      check (ends_at > starts_at),
      check ((status = 'cancelled') = (cancelled_at is not null and cancelled_by is not null))
    );
    create index meetings_teacher_starts_idx on meetings (teacher_id, starts_at);
    create index meetings_course_idx on meetings (course_id, starts_at) where course_id is not null;
    create index meetings_cancelled_idx on meetings (starts_at) where status = 'cancelled';

    create table bookings (
      id uuid primary key,
      meeting_id uuid not null references meetings (id),
      student_id uuid not null references users (id),
      teacher_id uuid not null references users (id),
      course_id uuid references courses (id),
      price bigint not null check (price > 0),
      -- Copied from the meeting: listing and windows need no join.
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      status text not null default 'confirmed'
        check (status in ('confirmed', 'open', 'completed', 'cancelled', 'requires_manual_review')),
      settlement text not null default 'held'
        check (settlement in ('held', 'released', 'refunded', 'partially_refunded')),
      outcome text check (outcome in ('attended', 'low_attendance', 'student_no_show', 'teacher_no_show',
        'cancelled_by_teacher', 'cancelled_by_admin', 'cancelled_early', 'cancelled_late',
        'admin_release', 'admin_refund', 'admin_partial', 'disputed')),
      -- The rules this booking is judged by, as configured when it was made
      -- (its workflow's input is built from it).
      policy jsonb not null,
      -- {seconds, percent, teacherSeconds, studentIntervals, teacherIntervals}, at finalisation.
      attendance jsonb,
      refunded_amount bigint check (refunded_amount >= 0),
      teacher_amount bigint check (teacher_amount >= 0),
      platform_amount bigint check (platform_amount >= 0),
      -- Set once the workflow is known to be started; the reconciler starts the rest.
      workflow_started boolean not null default false,
      cancelled_by uuid references users (id),
      cancel_reason text check (length(cancel_reason) <= 1000),
      dispute_reason text check (length(dispute_reason) <= 2000),
      resolved_by uuid references users (id),
      review_note text check (length(review_note) <= 2000),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (ends_at > starts_at),
      check ((settlement = 'held') = (refunded_amount is null)),
      check (settlement = 'held' or refunded_amount + teacher_amount + platform_amount = price)
    );
    create unique index bookings_one_live_per_student on bookings (meeting_id, student_id) where status <> 'cancelled';
    create index bookings_student_idx on bookings (student_id, created_at desc);
    create index bookings_teacher_idx on bookings (teacher_id, created_at desc);
    create index bookings_meeting_idx on bookings (meeting_id);
    create index bookings_review_idx on bookings (updated_at) where status = 'requires_manual_review';
    create index bookings_unstarted_idx on bookings (created_at) where not workflow_started;

    create table livekit_events (
      id text primary key check (length(id) between 1 and 200),
      event text not null,
      room_name text,
      identity text,
      participant_sid text,
      occurred_at timestamptz not null,
      received_at timestamptz not null default now()
    );
    create index livekit_events_room_idx on livekit_events (room_name, occurred_at) where room_name is not null;

    create table notifications (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id),
      -- What happened, once per user: booking_confirmed:<booking>, review_reminder:<booking>:3, ...
      event_key text not null check (length(event_key) between 1 and 300),
      type text not null,
      payload jsonb not null,
      read_at timestamptz,
      created_at timestamptz not null default now(),
      unique (user_id, event_key)
    );
    create index notifications_user_idx on notifications (user_id, created_at desc, id);
    create index notifications_unread_idx on notifications (user_id, created_at desc) where read_at is null;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table notifications;
    drop table livekit_events;
    drop table bookings;
    drop table meetings;
    drop table courses;
  `);
}
