// npm run withdrawal:bank-details -- <withdrawal id>: the bank details of one
// withdrawal, opened for the operator who makes a manual payout's bank
// transfer. They are never in any API response (masked there), log line or
// workflow; this prints them to this terminal only, from the database and the
// data encryption key (DATA_ENCRYPTION_KEY, or the one npm start keeps in
// DATA_DIR), and never writes them anywhere.
import fs from 'node:fs';
import path from 'node:path';
import { isUuid } from '../ledger/ids';
import { DATA_KEY_FILE } from '../platform/jwt-secret';
import { openDatabase } from '../platform/database';
import { settingsOrExit } from '../platform/settings';
import { openBankAccount, parseKeyring } from '../withdrawals/bank-details';
import { findWithdrawal } from '../withdrawals/repository';

const USAGE = 'usage: npm run withdrawal:bank-details -- <withdrawal id>';

async function main(): Promise<void> {
  const [id, ...rest] = process.argv.slice(2);
  if (id === undefined || rest.length > 0 || !isUuid(id)) {
    console.error(USAGE);
    process.exit(2);
  }
  const settings = settingsOrExit();
  const keyFile = path.join(settings.DATA_DIR, DATA_KEY_FILE);
  // Never a new key: one that did not seal these details cannot open them.
  const keys =
    settings.dataKeySource === 'DATA_ENCRYPTION_KEY'
      ? settings.DATA_ENCRYPTION_KEY
      : fs.existsSync(keyFile)
        ? fs.readFileSync(keyFile, 'utf8')
        : undefined;
  if (keys === undefined) {
    console.error(`no data encryption key: set DATA_ENCRYPTION_KEY (or run where ${keyFile} is)`);
    process.exit(2);
  }
  const database = await openDatabase(settings);
  try {
    const row = await findWithdrawal(database.db, id);
    if (row === undefined) {
      console.error(`no withdrawal ${id}`);
      process.exitCode = 1;
      return;
    }
    const account = openBankAccount(
      parseKeyring(keys),
      { keyId: row.bank_account_key_id, sealed: row.bank_account_sealed },
      row.id,
    );
    console.log(
      [
        `withdrawal ${row.id}: ${row.amount} ${row.currency} (${row.status}, ${row.provider} payout)`,
        `holder          ${account.holderName}`,
        ...(account.iban === undefined ? [] : [`IBAN            ${account.iban}`]),
        ...(account.accountNumber === undefined ? [] : [`account number  ${account.accountNumber}`]),
        ...(account.routingNumber === undefined ? [] : [`routing number  ${account.routingNumber}`]),
        ...(account.bankName === undefined ? [] : [`bank            ${account.bankName}`]),
      ].join('\n'),
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error('could not open the bank details:', error instanceof Error ? error.message : error);
  process.exit(2);
});
