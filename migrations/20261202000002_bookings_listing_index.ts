// Admins list every booking newest first (GET /bookings); without this index
// each page sorts the whole table.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index bookings_created_idx on bookings (created_at desc, id desc)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index bookings_created_idx');
}
