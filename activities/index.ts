// All activities, built from their dependencies (the worker registers these).
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { LiveKit } from '../livekit/livekit';
import type { EmailSettings } from '../notifications/email';
import type { Mailer } from '../notifications/mailer';
import type { StripeGateway } from '../payments/stripe';
import { createBookingActivities } from './bookings';
import { createMaintenanceActivities } from './maintenance';
import { createNotificationActivities } from './notifications';
import { createWithdrawalActivities } from './withdrawals';
import type { ConnectPayouts } from '../withdrawals/payouts';
import { createTopupActivities } from './topups';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
  livekit: LiveKit;
  currency: string;
  /** Base URL of the app, for links in notifications. */
  publicUrl: string;
  mailer: Mailer;
  email: EmailSettings;
  /** Stripe Connect transfers of withdrawals (refused for good where Stripe is not configured). */
  payouts: ConnectPayouts;
  /** Stripe (payments/stripe.ts): top-up reconciliation, and Connect transfers for payouts. */
  stripe: StripeGateway;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createMaintenanceActivities(deps),
    ...createBookingActivities(deps),
    ...createNotificationActivities(deps),
    ...createWithdrawalActivities(deps),
    ...createTopupActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
