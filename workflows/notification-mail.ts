// Mailing a workflow's notifications beside its own work. The steps record
// notifications (and push them to sockets) in their own transactions; this
// lane then runs the delivery activity for the source, one at a time. An SMTP
// server that is down keeps the lane retrying with backoff and then gives up,
// marking the emails failed: the money never waits for it, only the end of
// the run does.
import { ActivityFailure, condition, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/notifications';
import { DATABASE_WRITE, EMAIL_DELIVERY } from './presets';
import { emailTaskQueue } from './shared';

const { abandonNotifications } = proxyActivities<NotificationActivities>(DATABASE_WRITE);

/**
 * Delivery rounds a run may ask for: a booking records a handful, plus one per
 * review reminder (60 at most), and a withdrawal up to 120 reminders; each may
 * take several rounds when many admins are told (an attempt sends at most 50).
 * A bound on the history, not a budget a run is expected to reach.
 */
const MAX_ROUNDS = 2_000;
/** The bound before MORE_ROUNDS: a run that reached it then replays as it ran. */
const ROUNDS_BEFORE_PATCH = 200;
/** Runs reaching 200 rounds go on to MAX_ROUNDS, and fail what is left due at their end. */
const MORE_ROUNDS = 'mail-more-rounds';

export class NotificationMail {
  private wanted = false;
  private closing = false;
  private readonly lane: Promise<void>;
  /** On the email task queue beside the run's own (its worker's few slots are email's alone). */
  private readonly deliverNotifications = proxyActivities<NotificationActivities>({
    ...EMAIL_DELIVERY,
    taskQueue: emailTaskQueue(workflowInfo().taskQueue),
  }).deliverNotifications;

  /** `sourceId`: what the notifications are about (the booking). Not `enabled`: a run from before email, nothing is mailed. */
  constructor(
    private readonly sourceId: string,
    enabled: boolean,
  ) {
    this.lane = enabled ? this.run() : Promise.resolve();
  }

  /** Notifications of the source were recorded (or may have been): mail what is due. */
  request(): void {
    this.wanted = true;
  }

  /** Waits for the last requested delivery to end (sent, or given up). */
  async drain(): Promise<void> {
    this.closing = true;
    await this.lane;
  }

  private async run(): Promise<void> {
    let moreRounds = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round === ROUNDS_BEFORE_PATCH) {
        moreRounds = patched(MORE_ROUNDS);
        if (!moreRounds) break;
      }
      await condition(() => this.wanted || this.closing);
      if (!this.wanted) return;
      this.wanted = false;
      try {
        const { more } = await this.deliverNotifications({ sourceId: this.sourceId });
        if (more) this.wanted = true;
      } catch (error) {
        await abandonNotifications({ sourceId: this.sourceId, reason: reasonOf(error) });
      }
    }
    if (moreRounds) {
      // Out of rounds: whatever is due by the run's end (recorded after the last round too)
      // is marked failed with the reason, rather than left pending for the daily sweep.
      await condition(() => this.closing);
      await abandonNotifications({
        sourceId: this.sourceId,
        reason: `its workflow asked for more than ${MAX_ROUNDS} deliveries`,
      });
    } else if (this.wanted) {
      await abandonNotifications({
        sourceId: this.sourceId,
        reason: `this booking asked for more than ${ROUNDS_BEFORE_PATCH} deliveries`,
      });
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause !== undefined) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}
