// The platform's revenue series (GET /admin/revenue?groupBy=...) sums the
// transfers of a time range; without an index on created_at it reads the
// whole table, which holds millions of rows.
//
// A BRIN index, not a B-tree: ledger_transfers is append-only (no UPDATE, no
// DELETE, so no space is ever reused) and created_at is the writing
// transaction's start, so the table's physical order follows created_at
// closely. BRIN keeps the range of created_at per block range: a few pages
// for the whole table, and next to nothing for a writer to maintain, where a
// B-tree would add a write to every transfer on the ledger's hot path.
//
// Built in the migration's transaction, not CONCURRENTLY: a concurrent build
// waits for every older snapshot in the database, and a second process
// waiting for the migration lock (db/migrate.ts) holds one while it waits
// for us, a deadlock no one would detect. Transfers wait while it is built,
// once: a BRIN build is one sequential read of the table (0.5 s for two
// million transfers here; the index is 56 kB, the table 326 MB). A 30-day
// daily series over those two million transfers then reads 1,268 heap pages
// instead of the table's 41,000.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    'create index ledger_transfers_created_brin on ledger_transfers using brin (created_at) with (pages_per_range = 32)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index ledger_transfers_created_brin');
}
