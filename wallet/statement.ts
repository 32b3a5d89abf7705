// Statement lines of one account, from the `transactions` view (see the
// statement migration): newest first, cursor-paginated by the ledger's seq.
import type { Conn } from '../db/knex';

export const LINE_TYPES = ['deposit', 'purchase', 'refund', 'commission', 'withdrawal'] as const;
export const LINE_STATUSES = ['pending', 'completed', 'cancelled', 'failed'] as const;

export interface StatementLine {
  id: string;
  type: (typeof LINE_TYPES)[number];
  amount: number;
  balanceBefore: number;
  balanceAfter: number;
  status: (typeof LINE_STATUSES)[number];
  reference: { type: string; id: string } | null;
  description: string | null;
  createdAt: string;
}

export interface StatementFilters {
  type?: StatementLine['type'] | undefined;
  status?: StatementLine['status'] | undefined;
  /** Compared to the microsecond, as PostgreSQL keeps times (a Date keeps milliseconds). */
  from?: PreciseTime | undefined;
  to?: PreciseTime | undefined;
}

/** A time to the microsecond: a Date and the microseconds beyond its milliseconds (0 to 999). */
export interface PreciseTime {
  date: Date;
  extraMicros: number;
}

/** `created_at <op> time`, to the microsecond; the Date goes as a parameter node-postgres writes for any year. */
function createdAtRelation(op: '>=' | '<', time: PreciseTime): [string, [Date, number]] {
  return [`created_at ${op} ?::timestamptz + make_interval(secs => ?)`, [time.date, time.extraMicros / 1e6]];
}

interface LineRow {
  id: string;
  seq: number;
  type: StatementLine['type'];
  amount: number;
  balance_before: number;
  balance_after: number;
  status: StatementLine['status'];
  reference_type: string | null;
  reference_id: string | null;
  description: string | null;
  created_at: Date;
}

export const MAX_PAGE_SIZE = 100;

/** One page of lines older than `beforeSeq` (the cursor); `nextCursor` is undefined on the last page. */
export async function statementPage(
  conn: Conn,
  accountId: string,
  filters: StatementFilters,
  page: { limit: number; beforeSeq?: number | undefined },
): Promise<{ lines: StatementLine[]; nextSeq: number | undefined }> {
  const limit = Math.min(Math.max(1, page.limit), 1000);
  const query = conn('transactions')
    .where({ account_id: accountId })
    .orderBy('seq', 'desc')
    .limit(limit + 1);
  if (filters.type !== undefined) void query.where({ type: filters.type });
  if (filters.status !== undefined) void query.where({ status: filters.status });
  if (filters.from !== undefined) void query.whereRaw(...createdAtRelation('>=', filters.from));
  if (filters.to !== undefined) void query.whereRaw(...createdAtRelation('<', filters.to));
  if (page.beforeSeq !== undefined) void query.where('seq', '<', page.beforeSeq);
  const rows = await query.select<LineRow[]>(
    'id',
    'seq',
    'type',
    'amount',
    'balance_before',
    'balance_after',
    'status',
    'reference_type',
    'reference_id',
    'description',
    'created_at',
  );
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return { lines: pageRows.map(toLine), nextSeq: more ? pageRows[pageRows.length - 1]!.seq : undefined };
}

export async function statementLine(
  conn: Conn,
  accountId: string,
  transferId: string,
): Promise<StatementLine | undefined> {
  const row = (await conn('transactions').where({ account_id: accountId, id: transferId }).first()) as
    LineRow | undefined;
  return row === undefined ? undefined : toLine(row);
}

function toLine(row: LineRow): StatementLine {
  return {
    id: row.id,
    type: row.type,
    amount: row.amount,
    balanceBefore: row.balance_before,
    balanceAfter: row.balance_after,
    status: row.status,
    reference: row.reference_type === null ? null : { type: row.reference_type, id: row.reference_id! },
    description: row.description,
    createdAt: row.created_at.toISOString(),
  };
}

const CSV_COLUMNS = [
  'id',
  'type',
  'amount',
  'balanceBefore',
  'balanceAfter',
  'status',
  'referenceType',
  'referenceId',
  'description',
  'createdAt',
] as const;

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(line: StatementLine): string {
  const cells = [
    line.id,
    line.type,
    String(line.amount),
    String(line.balanceBefore),
    String(line.balanceAfter),
    line.status,
    line.reference?.type ?? '',
    line.reference?.id ?? '',
    line.description ?? '',
    line.createdAt,
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** RFC 4180 quoting; text that a spreadsheet would run as a formula is defused with a leading quote. */
function csvCell(value: string): string {
  const defused = /^[=+\-@\t\r]/.test(value) && Number.isNaN(Number(value)) ? `'${value}` : value;
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}
