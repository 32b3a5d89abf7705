// npm run ledger:audit: recompute every balance from the transfers and check
// every ledger invariant; exits 1 when any is broken.
import { auditLedger, formatAuditReport } from '../ledger/audit';
import { openDatabase } from '../platform/database';
import { settingsOrExit } from '../platform/settings';

async function main(): Promise<void> {
  const database = await openDatabase(settingsOrExit());
  try {
    const report = await auditLedger(database.db);
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
