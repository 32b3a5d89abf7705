// npm start: the whole product in one process, on a machine with only Node.js.
// Without DATABASE_URL an embedded PostgreSQL is started (data in DATA_DIR).
import pino from 'pino';
import { startApiServer } from '../api/server';
import { openDatabase } from '../platform/database';
import { onShutdownSignal, settingsOrExit } from '../platform/settings';

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const logger = pino({ level: settings.LOG_LEVEL });
  const database = await openDatabase(settings);
  const api = await startApiServer({ settings, db: database.db, logger });

  const base = `http://localhost:${api.port}`;
  console.log(
    [
      '',
      `  Class marketplace is running (${settings.NODE_ENV})`,
      `  API        ${base}/api/v1`,
      `  API docs   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  Health     ${base}/healthz   ${base}/readyz   ${base}/metrics`,
      `  Database   ${database.origin}`,
      ...(api.adminCreated ? [`  Admin      created ${settings.ADMIN_EMAIL}`] : []),
      '',
    ].join('\n'),
  );

  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await api.close();
    await database.close();
    logger.info('stopped');
  });
}

main().catch((error: unknown) => {
  console.error('start failed:', error);
  process.exit(1);
});
