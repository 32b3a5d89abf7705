// Delivery of notifications. Each row is pushed over Socket.IO when it is
// recorded (a NOTIFY in its own transaction) and mailed later by the workflow
// of its source (the booking it is about), whose activity claims it here:
// pending -> sending (a lease) -> sent | failed | skipped. Email preferences
// per category; in-app notifications are always on.
// `socket_io_attachments` is where @socket.io/postgres-adapter keeps packets
// too large for a NOTIFY.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table notifications
      add column source_id uuid,
      -- Rows recorded before email existed are not mailed after the fact.
      add column email_status text not null default 'skipped'
        check (email_status in ('pending', 'sending', 'sent', 'failed', 'skipped')),
      add column email_attempts integer not null default 0 check (email_attempts >= 0),
      add column email_error text check (length(email_error) <= 1000),
      add column email_claimed_until timestamptz,
      add column email_sent_at timestamptz;
    alter table notifications alter column email_status set default 'pending';
    create index notifications_email_due_idx on notifications (source_id)
      where email_status in ('pending', 'sending');

    create table notification_preferences (
      user_id uuid primary key references users (id),
      bookings_email boolean not null default true,
      money_email boolean not null default true,
      reviews_email boolean not null default true,
      updated_at timestamptz not null default now()
    );

    create table if not exists socket_io_attachments (
      id bigserial unique,
      created_at timestamptz default now(),
      payload bytea
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table socket_io_attachments;
    drop table notification_preferences;
    drop index notifications_email_due_idx;
    alter table notifications
      drop column source_id,
      drop column email_status,
      drop column email_attempts,
      drop column email_error,
      drop column email_claimed_until,
      drop column email_sent_at;
  `);
}
