// Mailing a workflow's notifications beside its own work. The steps record
// notifications (and push them to sockets) in their own transactions; this
// lane then runs the delivery activity for the source, one at a time. An SMTP
// server that is down keeps the lane retrying with backoff and then gives up,
// marking the emails failed: the money never waits for it, only the end of
// the run does.
import { ActivityFailure, condition, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/notifications';
import { DATABASE_WRITE, EMAIL_DELIVERY } from './presets';
import { emailTaskQueue } from './shared';

const { abandonNotifications } = proxyActivities<NotificationActivities>(DATABASE_WRITE);

/** Delivery rounds a run may ask for (a booking records a handful, plus one per review reminder). */
const MAX_ROUNDS = 200;

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
    for (let round = 0; round < MAX_ROUNDS; round++) {
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
    // Out of rounds: what is still due is marked failed rather than left pending forever.
    if (this.wanted) {
      await abandonNotifications({
        sourceId: this.sourceId,
        reason: `this booking asked for more than ${MAX_ROUNDS} deliveries`,
      });
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause !== undefined) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}
