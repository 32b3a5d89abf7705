// All activities, built from their dependencies (the worker registers these).
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { createMaintenanceActivities } from './maintenance';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createMaintenanceActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
