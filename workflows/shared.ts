// What workflows and their callers share: names, ids, signals and queries.
// Safe to import from workflow code (no Node built-ins, no app modules).
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const MAINTENANCE_WORKFLOW_ID = 'maintenance';

export interface MaintenanceInput {
  intervalMinutes: number;
  idempotencyKeyRetentionHours: number;
  /** Rounds before the workflow continues as new (default 100). */
  roundsPerRun?: number;
}

export interface LedgerAuditSummary {
  ok: boolean;
  failedChecks: string[];
  accounts: number;
  transfers: number;
  /** ISO-8601, when the audit ran (the activity's clock). */
  at: string;
}

export interface MaintenanceStatus {
  rounds: number;
  lastAudit: LedgerAuditSummary | null;
  idempotencyKeysPurged: number;
}

/** Runs a maintenance round now (one that starts after the request) and answers the status after it. */
export const runMaintenanceNow = defineUpdate<MaintenanceStatus>('runMaintenanceNow');
export const maintenanceStatus = defineQuery<MaintenanceStatus>('maintenanceStatus');
