// The one composition root. Every process (npm start, the API alone, the
// worker alone) builds its parts here, once: the database, the one ledger
// batcher, the Temporal client, the adapters (LiveKit, the clock) and the
// services made of them. The API and the activities receive these; nothing
// else constructs them.
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import type { ActivityDeps } from '../activities';
import type { BookingDeps } from '../bookings/service';
import { BookingWorkflows } from '../bookings/workflow-gateway';
import type { Settings } from '../config/settings';
import type { Db } from '../db/knex';
import { systemClock, type Clock } from '../domain/clock';
import { LedgerBatcher } from '../ledger/batcher';
import { LiveKit } from '../livekit/livekit';
import { smtpMailer, unconfiguredMailer, type Mailer } from '../notifications/mailer';
import { parseKeyring, type DataKeyring } from '../withdrawals/bank-details';
import type { WithdrawalDeps } from '../withdrawals/service';
import { WithdrawalWorkflows } from '../withdrawals/workflow-gateway';
import { StripeGateway } from '../payments/stripe';
import { workflowLinks, type WorkflowLinks } from '../temporal-client/workflow-links';
import { openDatabase, type ReadyDatabase } from './database';
import type { Lifecycle } from './lifecycle';
import { ensureSearchAttributes } from './search-attributes';

/** Where clients connect when no LiveKit server is configured (`livekit-server --dev`). */
export const DEFAULT_LIVEKIT_CLIENT_URL = 'ws://localhost:7880';

export interface Platform {
  settings: Settings;
  logger: Logger;
  db: Db;
  /** The same database's URL, for what needs connections of its own (the Socket.IO adapter's LISTEN). */
  databaseUrl: string;
  databaseOrigin: string;
  ledger: LedgerBatcher;
  clock: Clock;
  temporal: { client: Client; connection: Connection };
  livekit: LiveKit;
  /** SMTP_URL's server (npm start runs a local mail catcher when it is unset). */
  mailer: Mailer;
  bookingWorkflows: BookingWorkflows;
  withdrawalWorkflows: WithdrawalWorkflows;
  /** DATA_ENCRYPTION_KEY's keys, sealing bank details. */
  keyring: DataKeyring;
  /** Stripe's SDK (STRIPE_SECRET_KEY; refuses every call when unset): top-ups, webhooks, payouts. */
  stripe: StripeGateway;
  /** Links to workflows for admins: TEMPORAL_UI_URL, else the dev server's inspector, else none. */
  workflowLinks: WorkflowLinks;
}

/** The parts that need no running infrastructure, for a database and Temporal client made elsewhere (tests). */
export function assemble(parts: {
  settings: Settings;
  logger: Logger;
  db: Db;
  databaseUrl: string;
  databaseOrigin: string;
  client: Client;
  connection: Connection;
  clock?: Clock;
  /** The dev server's inspector, when this process runs the dev server. */
  inspectorUrl?: string | undefined;
}): Platform {
  const { settings } = parts;
  const livekit = new LiveKit({
    url: settings.LIVEKIT_URL,
    apiKey: settings.LIVEKIT_API_KEY,
    apiSecret: settings.LIVEKIT_API_SECRET,
  });
  return {
    settings,
    logger: parts.logger,
    db: parts.db,
    databaseUrl: parts.databaseUrl,
    databaseOrigin: parts.databaseOrigin,
    ledger: new LedgerBatcher(parts.db),
    clock: parts.clock ?? systemClock,
    temporal: { client: parts.client, connection: parts.connection },
    livekit,
    mailer: settings.SMTP_URL === undefined ? unconfiguredMailer : smtpMailer(settings.SMTP_URL),
    bookingWorkflows: new BookingWorkflows(parts.client, settings.TEMPORAL_TASK_QUEUE, livekit.closesRooms),
    withdrawalWorkflows: new WithdrawalWorkflows(parts.client, settings.TEMPORAL_TASK_QUEUE),
    keyring: parseKeyring(settings.DATA_ENCRYPTION_KEY),
    stripe: new StripeGateway({
      secretKey: settings.STRIPE_SECRET_KEY,
      webhookSecret: settings.STRIPE_WEBHOOK_SECRET,
      apiUrl: settings.STRIPE_API_URL,
    }),
    workflowLinks: workflowLinks({
      temporalUiUrl: settings.TEMPORAL_UI_URL,
      inspectorUrl: parts.inspectorUrl,
      namespace: settings.TEMPORAL_NAMESPACE,
    }),
  };
}

/**
 * Opens the database (provisioned and migrated), connects to Temporal at
 * `temporalAddress` and registers the search attributes; everything opened
 * is registered with `lifecycle` to be closed in reverse order.
 */
export async function buildPlatform(options: {
  settings: Settings;
  logger: Logger;
  lifecycle: Lifecycle;
  temporalAddress: string;
  /** Already opened by the caller (npm start opens it before the dev server). */
  database?: ReadyDatabase;
  /** The dev server's inspector (npm start), the workflow links' fallback when TEMPORAL_UI_URL is unset. */
  inspectorUrl?: string | undefined;
}): Promise<Platform> {
  const { settings, lifecycle } = options;
  const database = options.database ?? (await openDatabase(settings));
  if (options.database === undefined) lifecycle.add('database', database.close);
  const connection = await Connection.connect({ address: options.temporalAddress });
  lifecycle.add('temporal client connection', () => connection.close());
  await ensureSearchAttributes(connection, settings.TEMPORAL_NAMESPACE);
  const client = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE });
  const platform = assemble({
    settings,
    logger: options.logger,
    db: database.db,
    databaseUrl: database.url,
    databaseOrigin: database.origin,
    client,
    connection,
    inspectorUrl: options.inspectorUrl,
  });
  // Registered after the connection: on shutdown, in-flight ledger work drains before it closes.
  lifecycle.add('ledger batcher', () => platform.ledger.drain());
  lifecycle.add('mailer', async () => platform.mailer.close());
  return platform;
}

/** What the booking services need, from the platform. */
export function bookingDeps(platform: Platform): BookingDeps {
  const { settings } = platform;
  return {
    db: platform.db,
    clock: platform.clock,
    currency: settings.CURRENCY,
    policy: settings,
    workflows: platform.bookingWorkflows,
    livekit: platform.livekit,
    livekitUrl: settings.LIVEKIT_URL ?? DEFAULT_LIVEKIT_CLIENT_URL,
    logger: platform.logger,
    workflowLinks: platform.workflowLinks,
  };
}

/** What the activities need, from the platform. */
export function activityDeps(platform: Platform): ActivityDeps {
  return {
    db: platform.db,
    logger: platform.logger,
    livekit: platform.livekit,
    currency: platform.settings.CURRENCY,
    publicUrl: platform.settings.PUBLIC_URL,
    mailer: platform.mailer,
    email: {
      from: platform.settings.MAIL_FROM,
      currency: platform.settings.CURRENCY,
      publicUrl: platform.settings.PUBLIC_URL,
    },
    stripe: platform.stripe,
    // Withdrawals paid through Stripe Connect (refused for good where Stripe is not configured).
    payouts: platform.stripe.connectPayouts(),
  };
}

/** What the withdrawal services need, from the platform. */
export function withdrawalDeps(platform: Platform): WithdrawalDeps {
  const { settings } = platform;
  return {
    db: platform.db,
    currency: settings.CURRENCY,
    minAmount: settings.WITHDRAWAL_MIN_AMOUNT,
    provider: settings.PAYOUT_PROVIDER,
    keyring: platform.keyring,
    workflows: platform.withdrawalWorkflows,
    logger: platform.logger,
    workflowLinks: platform.workflowLinks,
  };
}
