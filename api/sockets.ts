// Socket.IO for in-app notifications (SPEC section 4): namespace
// `/notifications`, the JWT in the handshake's `auth: {token}`. Each socket
// joins its user's room; @socket.io/postgres-adapter carries broadcasts
// between API processes over Postgres, and notifications/realtime.ts
// publishes each recorded notification to that room from whichever process
// recorded it. Clients only listen: `notification:new` with the notification
// as GET /notifications shows it.
import type http from 'node:http';
import { createAdapter } from '@socket.io/postgres-adapter';
import { decodeJwt } from 'jose';
import pg from 'pg';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import type { Db } from '../db/knex';
import {
  NEW_NOTIFICATION_EVENT,
  NOTIFICATIONS_CHANNEL,
  NOTIFICATIONS_NAMESPACE,
  userRoom,
} from '../notifications/realtime';
import type { NotificationView } from '../notifications/types';
import type { TokenService } from '../users/tokens';
import { userOfToken } from './authenticate';

/** What the server sends (clients send nothing but the handshake). */
export interface ServerToClientEvents {
  [NEW_NOTIFICATION_EVENT]: (notification: NotificationView) => void;
}
type NoEvents = Record<string, never>;
interface SocketData {
  userId: string;
  /** When the handshake's token expires (ms since the epoch). */
  expiresAtMs: number;
}
type NotificationServer = Server<NoEvents, ServerToClientEvents, NoEvents, SocketData>;

export interface NotificationSockets {
  io: NotificationServer;
  close(): Promise<void>;
}

/** What a refused handshake says: the client reads it as `connect_error`'s `message` and `data`. */
interface RefusalError extends Error {
  data: { error: { code: string; message: string } };
}

function refusal(message: string): RefusalError {
  const error = new Error(message) as RefusalError;
  error.data = { error: { code: 'unauthorized', message } };
  return error;
}

/** setTimeout's limit (about 24.8 days): a token living longer (up to 30 days) has its socket cut early, never late. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How the adapter's connections show in pg_stat_activity. */
export const ADAPTER_APPLICATION_NAME = 'socket.io adapter';

/** Clients send nothing but the handshake: a frame beyond this is refused. */
const MAX_CLIENT_FRAME_BYTES = 16 * 1024;

export function attachNotificationSockets(
  server: http.Server,
  deps: { databaseUrl: string; db: Db; tokens: TokenService; logger: Logger },
): NotificationSockets {
  // Two connections: one held for LISTEN, one for the adapter's own NOTIFYs.
  const pool = new ClosablePool(
    new pg.Pool({
      connectionString: deps.databaseUrl,
      max: 2,
      application_name: ADAPTER_APPLICATION_NAME,
    }),
    {
      // One line: the adapter reconnects by itself (and a stopping database says so on every connection).
      onError: (error) => deps.logger.warn({ reason: error.message }, 'socket adapter connection lost'),
      // What was published while the adapter was away never reached these sockets:
      // their clients reconnect and catch up from GET /notifications.
      onReconnect: () => notifications.local.disconnectSockets(true),
    },
  );
  const io: NotificationServer = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: MAX_CLIENT_FRAME_BYTES,
    // Served from the API's origin: no CORS for the polling transport. The token in the
    // handshake, never a cookie, authenticates, so another site's page has nothing to ride on.
    cors: { origin: false },
  });
  io.adapter(
    createAdapter(pool as unknown as pg.Pool, {
      errorHandler: (error) => deps.logger.warn({ err: error }, 'socket adapter error'),
    }),
  );
  // The main namespace serves nothing.
  io.use((_socket, next) => next(refusal(`connect to the ${NOTIFICATIONS_NAMESPACE} namespace`)));

  const notifications = io.of(NOTIFICATIONS_NAMESPACE);
  notifications.use((socket, next) => {
    authenticate(socket, deps).then(
      ({ userId, expiresAtMs }) => {
        socket.data.userId = userId;
        socket.data.expiresAtMs = expiresAtMs;
        next();
      },
      (error: unknown) => {
        if (error instanceof Error && 'data' in error) return next(error);
        deps.logger.error({ err: error }, 'socket authentication failed');
        next(new Error('authentication is unavailable, try again'));
      },
    );
  });
  notifications.on('connection', (socket) => {
    void socket.join(userRoom(socket.data.userId));
    // A socket lives no longer than its token: the client reconnects with a fresh one.
    const expiry = setTimeout(
      () => socket.disconnect(true),
      Math.min(MAX_TIMER_MS, Math.max(0, socket.data.expiresAtMs - Date.now())),
    );
    socket.once('disconnect', () => clearTimeout(expiry));
  });

  return {
    io,
    close: async () => {
      // The sockets, the adapters (their LISTEN client and timers) and the engine; the
      // HTTP server is closed by its owner, with its grace period for requests in flight.
      for (const namespace of [io.sockets, notifications]) {
        namespace.disconnectSockets(true);
        await namespace.adapter.close();
      }
      io.engine.close();
      await pool.end();
    },
  };
}

async function authenticate(
  socket: Socket<NoEvents, ServerToClientEvents, NoEvents, SocketData>,
  deps: { db: Db; tokens: TokenService },
): Promise<{ userId: string; expiresAtMs: number }> {
  const auth: unknown = socket.handshake.auth;
  const token = typeof auth === 'object' && auth !== null && 'token' in auth ? auth.token : undefined;
  if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
    throw refusal('send the access token as auth: { token }');
  }
  const user = await userOfToken(deps.db, deps.tokens, token);
  if (user === undefined) throw refusal('invalid or expired token');
  // Verified above, so `exp` is present (the token service requires it).
  const { exp } = decodeJwt(token);
  return { userId: user.id, expiresAtMs: (exp ?? 0) * 1000 };
}

/**
 * The adapter's pool, closable at any moment. The adapter connects its LISTEN
 * client in the background and retries on failure; closed while that
 * connection was still on its way, it would take the client after all and
 * hold the process open. Here a connection that arrives after close() is
 * destroyed at once, and later attempts wait forever (a pending promise holds
 * no timer, so the process exits and the adapter stops retrying).
 */
class ClosablePool {
  private closed = false;
  private connections = 0;
  private readonly handedOut = new Set<pg.PoolClient>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly hooks: { onError: (error: Error) => void; onReconnect: () => void },
  ) {
    // A connection lost while in use (the adapter holds its LISTEN client checked
    // out, where the pool no longer listens) must be reported, not crash the process.
    pool.on('error', hooks.onError);
    pool.on('connect', (client) => client.on('error', hooks.onError));
  }

  query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    return this.pool.query(text, values);
  }

  async connect(): Promise<pg.PoolClient> {
    if (this.closed) return new Promise<never>(() => undefined);
    const client = await this.pool.connect();
    if (this.closed) {
      client.release(true);
      return new Promise<never>(() => undefined);
    }
    this.handedOut.add(client);
    // The adapter connects once, and again only after it lost its connection: then,
    // once it listens to the notifications channel again, the sockets are ended
    // (a client that reconnected earlier could miss what was published meanwhile).
    if (++this.connections > 1) this.afterListening(client, NOTIFICATIONS_CHANNEL, this.hooks.onReconnect);
    const release = client.release.bind(client);
    client.release = (destroy?: Error | boolean) => {
      if (!this.handedOut.delete(client)) return; // released already
      release(destroy);
    };
    // The adapter drops a LISTEN client that ended without releasing it, and the pool would
    // count it in use for ever: after two losses it was full, and the adapter never listened again.
    client.once('end', () => client.release(true));
    return client;
  }

  private afterListening(client: pg.PoolClient, channel: string, then: () => void): void {
    const query = client.query.bind(client) as (text: unknown, ...rest: unknown[]) => unknown;
    (client as unknown as { query: typeof query }).query = (text, ...rest) => {
      const result = query(text, ...rest);
      if (text === `LISTEN "${channel}"` && result instanceof Promise) {
        result.then(then, () => undefined);
      }
      return result;
    };
  }

  async end(): Promise<void> {
    this.closed = true;
    for (const client of this.handedOut) client.release(true);
    await this.pool.end();
  }
}
