// The reconciler also looks for bookings released pending a dispute window
// that closed long ago (their run stopped): only such rows, by end.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index bookings_held_judged_idx on bookings (ends_at) where settlement = 'held' and status = 'completed'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index bookings_held_judged_idx');
}
