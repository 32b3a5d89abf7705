// All activities, built from their dependencies (the worker registers these).
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { LiveKit } from '../livekit/livekit';
import { createBookingActivities } from './bookings';
import { createMaintenanceActivities } from './maintenance';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
  livekit: LiveKit;
  currency: string;
  /** Base URL of the app, for links in notifications. */
  publicUrl: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createMaintenanceActivities(deps),
    ...createBookingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
