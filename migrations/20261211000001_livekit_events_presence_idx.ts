// The webhook counts a participant's join and leave events in a room before
// signalling one more (bookings/presence.ts: a booking keeps at most 2,000):
// this index answers that count from the participant's own rows, however many
// other events (tracks, other participants) the room stored. Partial: only
// the kinds attendance uses are counted, and only they need it.
//
// Built in the migration's transaction, not CONCURRENTLY, for the reason
// 20261210000001_ledger_transfers_created_brin.ts gives; the table holds a
// few rows per class.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index livekit_events_presence_idx on livekit_events (room_name, identity)
      where event in ('participant_joined', 'participant_left')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index livekit_events_presence_idx');
}
