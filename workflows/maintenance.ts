// The platform's housekeeping, one long-running workflow (id `maintenance`):
// every interval it audits the ledger incrementally, over the transfers since
// the last checkpoint (a breach is logged as an error by the
// activity and kept in this workflow's memo and query for the Temporal UI),
// then purges Idempotency-Key answers older than their retention. An update
// runs a round at once and answers when it is done. It continues as new now
// and then to keep its history short.
//
// Its settings arrive with every worker start (signal-with-start of
// `configureMaintenance`), so a changed interval or retention reaches the
// running workflow instead of staying with the one that started it first. An
// audit that cannot run (the database away through all its attempts) is
// recorded as a failed audit and the next round tries again: housekeeping
// never ends because of one bad hour.
//
// Each round also asks Stripe about top-ups still open after a few minutes
// and credits the paid ones (a webhook that never came); that step failing
// through its few attempts is recorded in the status and never stops the
// round.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
} from '@temporalio/workflow';
import type { MaintenanceActivities } from '../activities/maintenance';
import type { TopupActivities } from '../activities/topups';
import { DATABASE_WRITE, LONG_DATABASE_JOB, THIRD_PARTY_SWEEP } from './presets';
import {
  configureMaintenance,
  maintenanceStatus,
  runMaintenanceNow,
  type LedgerAuditSummary,
  type MaintenanceInput,
  type MaintenanceStatus,
  type TopupReconciliationStatus,
} from './shared';

const { auditLedger, auditLedgerIncrementally } = proxyActivities<MaintenanceActivities>(LONG_DATABASE_JOB);
const { purgeIdempotencyKeys } = proxyActivities<MaintenanceActivities>(DATABASE_WRITE);
const { reconcileTopups } = proxyActivities<TopupActivities>(THIRD_PARTY_SWEEP);

/**
 * Rounds audit incrementally (from the last checkpoint on) instead of
 * recomputing every balance from every transfer, which at tens of millions of
 * transfers takes longer than the interval. Histories recorded before this
 * change replay the full audit they ran.
 */
export const INCREMENTAL_AUDIT_PATCH = 'incremental-ledger-audit';

/**
 * Rounds reconcile Stripe top-ups whose webhook never came. Histories
 * recorded before this change have no such step.
 */
export const RECONCILE_TOPUPS_PATCH = 'reconcile-topups';

/** Rounds per run before continuing as new (bounds the history). */
const ROUNDS_PER_RUN = 100;
const MINUTE_MS = 60_000;

export async function maintenanceWorkflow(
  startInput: MaintenanceInput,
  carried?: MaintenanceStatus,
): Promise<void> {
  let input = startInput;
  const status: MaintenanceStatus = carried ?? { rounds: 0, lastAudit: null, idempotencyKeysPurged: 0 };
  const roundsPerRun = input.roundsPerRun ?? ROUNDS_PER_RUN;
  let inRound = false;
  let runRequested = false;
  let configVersion = 0;
  setHandler(maintenanceStatus, () => status);
  setHandler(configureMaintenance, (config) => {
    input = { ...input, ...config };
    configVersion++;
  });
  setHandler(runMaintenanceNow, async () => {
    // A round already under way started before this request: wait for the next one.
    const target = status.rounds + (inRound ? 2 : 1);
    runRequested = true;
    await condition(() => status.rounds >= target);
    return status;
  });

  for (let round = 1; ; round++) {
    inRound = true;
    runRequested = false;
    status.lastAudit = await auditOrFailure();
    status.idempotencyKeysPurged += await purgeIdempotencyKeys({
      olderThanHours: input.idempotencyKeyRetentionHours,
    });
    if (patched(RECONCILE_TOPUPS_PATCH)) status.lastTopupReconciliation = await reconcileTopupsOrFailure();
    status.rounds++;
    inRound = false;
    upsertMemo({ lastAudit: status.lastAudit, rounds: status.rounds });
    const roundEndedMs = Date.now();
    // Until the interval has passed since this round, or a round is asked for;
    // a new interval moves the deadline.
    for (;;) {
      const seen = configVersion;
      const remainingMs = roundEndedMs + input.intervalMinutes * MINUTE_MS - Date.now();
      if (remainingMs <= 0) break;
      await condition(() => runRequested || configVersion !== seen, remainingMs);
      if (runRequested || configVersion === seen) break;
    }
    // The run ends only on a quiet interval: a request that came meanwhile
    // (even during the last round) is owed a round, and gets it here.
    if (round >= roundsPerRun && !runRequested) break;
  }
  // Handlers whose round just ran may not have returned yet.
  await condition(allHandlersFinished);
  await continueAsNew<typeof maintenanceWorkflow>(input, status);
}

async function auditOrFailure(): Promise<LedgerAuditSummary> {
  try {
    return patched(INCREMENTAL_AUDIT_PATCH) ? await auditLedgerIncrementally() : await auditLedger();
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const reason = error.cause?.message ?? error.message;
    log.error('ledger audit could not run; the next round tries again', { reason });
    return {
      ok: false,
      failedChecks: [`audit did not run: ${reason}`],
      accounts: 0,
      transfers: 0,
      at: new Date(Date.now()).toISOString(),
    };
  }
}

async function reconcileTopupsOrFailure(): Promise<TopupReconciliationStatus> {
  const at = () => new Date(Date.now()).toISOString();
  try {
    return { ok: true, at: at(), ...(await reconcileTopups({})) };
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const reason = error.cause?.message ?? error.message;
    log.warn('top-ups could not be reconciled with Stripe; the next round tries again', { reason });
    return { ok: false, at: at(), reason };
  }
}
