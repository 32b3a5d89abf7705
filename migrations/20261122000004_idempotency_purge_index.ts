// The maintenance workflow purges idempotency keys by age; without an index on
// created_at every purge scans the whole table.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index idempotency_keys_created_at_idx on idempotency_keys (created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index idempotency_keys_created_at_idx');
}
