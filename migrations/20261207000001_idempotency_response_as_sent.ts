// An Idempotency-Key replay must be the first answer byte for byte: jsonb
// reorders keys (and drops duplicate ones), so the body is kept as the text
// that was sent. Answers stored before this keep jsonb's rendering of them.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'alter table idempotency_keys alter column response_body type text using response_body::text',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'alter table idempotency_keys alter column response_body type jsonb using response_body::jsonb',
  );
}
