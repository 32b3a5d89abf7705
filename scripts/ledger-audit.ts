// npm run ledger:audit: check every ledger invariant; exits 1 when any is broken.
// By default from the last checkpoint on (the transfers since, and every
// balance row), as the maintenance workflow does each round; with --full,
// every balance recomputed from every transfer. Either records the next
// checkpoint when everything holds.
import { formatAuditReport } from '../ledger/audit';
import { auditLedgerFully, auditLedgerIncrementally } from '../ledger/incremental-audit';
import { openDatabase } from '../platform/database';
import { settingsOrExit } from '../platform/settings';

const USAGE = 'usage: npm run ledger:audit [-- --full]';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--full');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}\n${USAGE}`);
    process.exit(2);
  }
  const database = await openDatabase(settingsOrExit());
  try {
    const report = args.includes('--full')
      ? await auditLedgerFully(database.db)
      : await auditLedgerIncrementally(database.db);
    console.log(formatAuditReport(report));
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error('audit failed:', error);
  process.exit(2);
});
