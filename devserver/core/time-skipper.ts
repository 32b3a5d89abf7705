// Time skipping with the rules of Temporal's Java test server (temporal-test-server:
// SelfAdvancingTimerImpl, TestService, TestWorkflowMutableStateImpl). One lock counter
// decides: while anything holds a lock the virtual clock runs at real pace; when nothing
// does, it jumps to the next due timer or timeout. What holds a lock:
//   - the test service itself, once, from the start (so time is locked by default);
//     LockTimeSkipping adds one, UnlockTimeSkipping takes one away (the SDK's result()
//     unlocks while it waits);
//   - every activity from the moment it is scheduled until it completes, fails, is
//     cancelled or times out (as processScheduleActivityTask's lockTimer); an attempt
//     waiting out its retry backoff holds none, the retried attempt takes it again;
//   - every workflow task from scheduled to completed, failed or timed out, and every
//     query in flight.
// UnlockTimeSkippingWithSleep takes one lock away for the length of its sleep and gives it
// back when the clock reaches the wake-up time; with nothing holding a lock it is refused
// with FAILED_PRECONDITION and changes nothing (the Java server refuses it with an
// IllegalStateException, which its clients see as UNKNOWN). Sleep and SleepUntil only
// wait for the clock: they unlock nothing.
import type { VirtualClock } from './clock';
import type { Scheduler } from './scheduler';
import { RpcError, Code } from '../rpc/errors';

export interface InFlight {
  workflowTasks: number;
  /** Activities holding a lock: scheduled or started, not waiting out a retry backoff. */
  activityTasks: number;
  queries: number;
}

// Bounds how many jumps happen in one turn of the event loop.
const MAX_JUMPS_PER_TURN = 500;

export class TimeSkipper {
  /**
   * The locks the test service's callers hold: 1 at start (the server's own), plus Lock
   * minus Unlock calls, minus sleeps in progress that unlocked. It may go below zero
   * while an unlocking sleep lowers a lock an activity holds (an activity's own
   * env.sleep()); the activity's lock counts separately, in InFlight.
   */
  private locks = 1;
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

  /** Every lock held, the Java test server's lock count. */
  private lockCount(): number {
    const f = this.inFlight();
    return this.locks + f.activityTasks + f.workflowTasks + f.queries;
  }

  lock(): void {
    this.locks++;
  }

  unlock(): void {
    if (this.lockCount() <= 0) {
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
   * (UnlockTimeSkippingWithSleep) one lock is released meanwhile and taken back at the
   * wake-up time, before anything else due then runs.
   */
  async sleep(durationMs: number, unlockWhileSleeping: boolean): Promise<void> {
    if (unlockWhileSleeping) this.unlock();
    const key = `sleep:${this.sleepSeq++}`;
    await new Promise<void>((resolve) => {
      this.scheduler.set(key, this.clock.now() + Math.max(0, durationMs), () => {
        // Synchronously, so the skipping loop that fired this stops at the wake-up time.
        if (unlockWhileSleeping) this.locks++;
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
    // A workflow task or query in flight always holds the clock, whatever the count says
    // (a sleep may have lowered it below what the activities hold): jumping past a
    // started task would time it out under the worker.
    if (f.workflowTasks > 0 || f.queries > 0) return false;
    return this.locks + f.activityTasks <= 0;
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
