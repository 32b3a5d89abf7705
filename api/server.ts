// The API process's parts: the admin bootstrap, the ledger batcher, the
// Express app, listening. Used by `npm start` (everything in one process) and
// api/main.ts (the API alone, as docker-compose runs it).
import type { Logger } from 'pino';
import type { Settings } from '../config/settings';
import type { Db } from '../db/knex';
import { LedgerBatcher } from '../ledger/batcher';
import { bootstrapAdmin } from '../users/service';
import { TokenService } from '../users/tokens';
import { createApp, type ReadinessCheck } from './app';
import { listen } from './http-server';

export interface ApiServer {
  port: number;
  adminCreated: boolean;
  close: () => Promise<void>;
}

export async function startApiServer(deps: {
  settings: Settings;
  db: Db;
  logger: Logger;
  readiness?: ReadinessCheck[];
}): Promise<ApiServer> {
  const { settings, db, logger } = deps;
  const admin =
    settings.ADMIN_EMAIL !== undefined && settings.ADMIN_PASSWORD !== undefined
      ? { email: settings.ADMIN_EMAIL, password: settings.ADMIN_PASSWORD }
      : undefined;
  const adminCreated = await bootstrapAdmin({ db, currency: settings.CURRENCY }, admin);

  const ledger = new LedgerBatcher(db);
  const tokens = new TokenService(settings.JWT_SECRET, settings.JWT_TTL_MINUTES);
  const app = createApp({ settings, db, ledger, tokens, logger, readiness: deps.readiness ?? [] });
  const http = await listen(app, settings.PORT);
  return {
    port: http.port,
    adminCreated,
    close: async () => {
      await http.close(settings.SHUTDOWN_TIMEOUT_MS);
      await ledger.drain();
    },
  };
}
