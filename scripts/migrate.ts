// npm run migrate: bring the schema up to date (start does this too).
import { openDatabase } from '../platform/database';
import { settingsOrExit } from '../platform/settings';

async function main(): Promise<void> {
  const database = await openDatabase(settingsOrExit());
  console.log(
    database.migrationsApplied.length === 0
      ? 'schema already up to date'
      : `applied: ${database.migrationsApplied.join(', ')}`,
  );
  await database.close();
}

main().catch((error: unknown) => {
  console.error('migrate failed:', error);
  process.exit(1);
});
