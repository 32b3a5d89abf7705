// The API process's parts: the admin bootstrap, the Express app over the
// platform's services, listening. Used by `npm start` (everything in one
// process) and api/main.ts (the API alone, as docker-compose runs it).
import { bookingDeps, withdrawalDeps, type Platform } from '../platform/platform';
import { consoleBundle } from '../console/build';
import { bootstrapAdmin } from '../users/service';
import { TokenService } from '../users/tokens';
import { createApp, type ReadinessCheck } from './app';
import { listen } from './http-server';
import { attachNotificationSockets } from './sockets';

export interface ApiServer {
  port: number;
  adminCreated: boolean;
  close: () => Promise<void>;
}

export async function startApiServer(
  platform: Platform,
  readiness: ReadinessCheck[] = [],
): Promise<ApiServer> {
  const { settings, db, logger } = platform;
  const admin =
    settings.ADMIN_EMAIL !== undefined && settings.ADMIN_PASSWORD !== undefined
      ? { email: settings.ADMIN_EMAIL, password: settings.ADMIN_PASSWORD }
      : undefined;
  const adminCreated = await bootstrapAdmin({ db, currency: settings.CURRENCY }, admin);
  // Built before listening: a console that cannot build stops the start, not a user's first page.
  await consoleBundle();

  const tokens = new TokenService(settings.JWT_SECRET, settings.JWT_TTL_MINUTES);
  const app = createApp({
    settings,
    db,
    ledger: platform.ledger,
    tokens,
    logger,
    bookings: bookingDeps(platform),
    withdrawals: withdrawalDeps(platform),
    stripe: platform.stripe,
    readiness,
  });
  const http = await listen(app, settings.PORT);
  const sockets = attachNotificationSockets(http.server, {
    databaseUrl: platform.databaseUrl,
    db,
    tokens,
    logger,
  });
  return {
    port: http.port,
    adminCreated,
    close: async () => {
      await sockets.close();
      await http.close(settings.SHUTDOWN_TIMEOUT_MS);
    },
  };
}
