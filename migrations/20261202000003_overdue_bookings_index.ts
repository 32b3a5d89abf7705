// The reconciler looks every round for bookings whose class is long over but
// whose money is still held (their workflow lost): only such rows, by end.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index bookings_held_live_idx on bookings (ends_at) where settlement = 'held' and status in ('confirmed', 'open')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index bookings_held_live_idx');
}
