// All activities, built from their dependencies (the worker registers these).
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { LiveKit } from '../livekit/livekit';
import type { EmailSettings } from '../notifications/email';
import type { Mailer } from '../notifications/mailer';
import { createBookingActivities } from './bookings';
import { createMaintenanceActivities } from './maintenance';
import { createNotificationActivities } from './notifications';
import { createWithdrawalActivities } from './withdrawals';
import type { ConnectPayouts } from '../withdrawals/payouts';

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
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createMaintenanceActivities(deps),
    ...createBookingActivities(deps),
    ...createNotificationActivities(deps),
    ...createWithdrawalActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
