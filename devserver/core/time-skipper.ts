// Time skipping with the semantics of Temporal's Java test server: a lock counter
// (locked by default, LockTimeSkipping/UnlockTimeSkipping move it), and while unlocked
// and nothing is in flight the virtual clock jumps to the next due timer or timeout.
// A test-service sleep forces the clock forward to its wake-up time even while an
// activity is running (the activity may be the one sleeping), but still lets each
// workflow task finish first so timers fire in order with the workflow's reactions.
import type { VirtualClock } from './clock';
import type { Scheduler } from './scheduler';
import { RpcError, Code } from '../rpc/errors';

export interface InFlight {
  workflowTasks: number;
  activityTasks: number;
  queries: number;
}

// Bounds how many jumps happen in one turn of the event loop.
const MAX_JUMPS_PER_TURN = 500;

export class TimeSkipper {
  private locks = 1;
  private sleepers = 0;
  private sleepSeq = 0;
  private kicked = false;
  private closed = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly scheduler: Scheduler,
    private readonly inFlight: () => InFlight,
  ) {
    scheduler.onChange = () => this.kick();
  }

  lock(): void {
    this.locks++;
  }

  unlock(): void {
    if (this.locks === 0) {
      throw new RpcError(
        Code.FAILED_PRECONDITION,
        'Time skipping is not locked: unbalanced UnlockTimeSkipping',
      );
    }
    this.locks--;
    this.kick();
  }

  /**
   * Resolves when the server clock has advanced by durationMs. With unlockWhileSleeping
   * (UnlockTimeSkippingWithSleep) the lock counter is lowered meanwhile; unlike the Java
   * test server, a counter already at zero is not an error here, because this server
   * does not count running activities as locks, so an activity calling env.sleep() while
   * result() has unlocked would otherwise fail.
   */
  async sleep(durationMs: number, unlockWhileSleeping: boolean): Promise<void> {
    const unlocked = unlockWhileSleeping && this.locks > 0;
    if (unlocked) this.unlock();
    const key = `sleep:${this.sleepSeq++}`;
    this.sleepers++;
    await new Promise<void>((resolve) => {
      this.scheduler.set(key, this.clock.now() + Math.max(0, durationMs), () => {
        // Synchronously, so the skipping loop that fired this stops at the wake-up time.
        this.sleepers--;
        if (unlocked) this.locks++;
        resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
  }

  /** Re-evaluates soon (after the current synchronous work), once per turn. */
  kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.skip();
    });
  }

  private allowed(): boolean {
    const f = this.inFlight();
    if (f.workflowTasks > 0 || f.queries > 0) return false;
    if (this.sleepers > 0) return true;
    return this.locks === 0 && f.activityTasks === 0;
  }

  private skip(): void {
    for (let i = 0; i < MAX_JUMPS_PER_TURN; i++) {
      if (this.closed || !this.allowed()) return;
      const next = this.scheduler.nextDueMs();
      if (next === undefined) return;
      this.clock.advanceTo(next);
      this.scheduler.fireDue();
    }
    this.kick();
  }
}
