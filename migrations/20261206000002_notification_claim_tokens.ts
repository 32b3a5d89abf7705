// Each claim of an email carries its own token, and only the attempt holding
// it may finish or release the row: an attempt that outlived its lease (a
// timed-out activity still running) can no longer touch a row another attempt
// claimed since.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table notifications add column email_claim uuid`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table notifications drop column email_claim`);
}
