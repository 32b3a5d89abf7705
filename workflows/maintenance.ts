// The platform's housekeeping, one long-running workflow (id `maintenance`):
// every interval it audits the ledger (a breach is logged as an error by the
// activity and kept in this workflow's memo and query for the Temporal UI),
// then purges Idempotency-Key answers older than their retention. An update
// runs a round at once and answers when it is done. It continues as new now
// and then to keep its history short.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertMemo,
} from '@temporalio/workflow';
import type { MaintenanceActivities } from '../activities/maintenance';
import { DATABASE_WRITE, LONG_DATABASE_JOB } from './presets';
import {
  maintenanceStatus,
  runMaintenanceNow,
  type MaintenanceInput,
  type MaintenanceStatus,
} from './shared';

const { auditLedger } = proxyActivities<MaintenanceActivities>(LONG_DATABASE_JOB);
const { purgeIdempotencyKeys } = proxyActivities<MaintenanceActivities>(DATABASE_WRITE);

/** Rounds per run before continuing as new (bounds the history). */
const ROUNDS_PER_RUN = 100;

export async function maintenanceWorkflow(
  input: MaintenanceInput,
  carried?: MaintenanceStatus,
): Promise<void> {
  const status: MaintenanceStatus = carried ?? { rounds: 0, lastAudit: null, idempotencyKeysPurged: 0 };
  const roundsPerRun = input.roundsPerRun ?? ROUNDS_PER_RUN;
  let inRound = false;
  let runRequested = false;
  setHandler(maintenanceStatus, () => status);
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
    status.lastAudit = await auditLedger();
    status.idempotencyKeysPurged += await purgeIdempotencyKeys({
      olderThanHours: input.idempotencyKeyRetentionHours,
    });
    status.rounds++;
    inRound = false;
    upsertMemo({ lastAudit: status.lastAudit, rounds: status.rounds });
    await condition(() => runRequested, `${input.intervalMinutes} minutes`);
    // The run ends only on a quiet interval: a request that came meanwhile
    // (even during the last round) is owed a round, and gets it here.
    if (round >= roundsPerRun && !runRequested) break;
  }
  // Handlers whose round just ran may not have returned yet.
  await condition(allHandlersFinished);
  await continueAsNew<typeof maintenanceWorkflow>(input, status);
}
