// npm start: the whole product in one process, on a machine with only Node.js.
// Without DATABASE_URL an embedded PostgreSQL is started (data in DATA_DIR).
import pino from 'pino';
import { createApp } from '../api/app';
import { listen } from '../api/http-server';
import { LedgerBatcher } from '../ledger/batcher';
import { openDatabase } from '../platform/database';
import { onShutdownSignal, settingsOrExit } from '../platform/settings';
import { bootstrapAdmin } from '../users/service';
import { TokenService } from '../users/tokens';

async function main(): Promise<void> {
  const settings = settingsOrExit();
  const logger = pino({ level: settings.LOG_LEVEL });

  const database = await openDatabase(settings);
  const { db } = database;
  const admin =
    settings.ADMIN_EMAIL !== undefined && settings.ADMIN_PASSWORD !== undefined
      ? { email: settings.ADMIN_EMAIL, password: settings.ADMIN_PASSWORD }
      : undefined;
  const adminCreated = await bootstrapAdmin({ db, currency: settings.CURRENCY }, admin);

  const ledger = new LedgerBatcher(db);
  const tokens = new TokenService(settings.JWT_SECRET, settings.JWT_TTL_MINUTES);
  const app = createApp({ settings, db, ledger, tokens, logger });
  const http = await listen(app, settings.PORT);

  const base = `http://localhost:${http.port}`;
  console.log(
    [
      '',
      `  Class marketplace is running (${settings.NODE_ENV})`,
      `  API        ${base}/api/v1`,
      `  API docs   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  Health     ${base}/healthz   ${base}/readyz   ${base}/metrics`,
      `  Database   ${database.origin}`,
      ...(adminCreated ? [`  Admin      created ${settings.ADMIN_EMAIL}`] : []),
      '',
    ].join('\n'),
  );

  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await http.close(settings.SHUTDOWN_TIMEOUT_MS);
    await ledger.drain();
    await database.close();
    logger.info('stopped');
  });
}

main().catch((error: unknown) => {
  console.error('start failed:', error);
  process.exit(1);
});
