// Task queues with long-poll matching. A queue holds references to tasks (workflow or
// activity); the engine decides, when a poller takes one, whether it is still valid
// (a task may have been cancelled, timed out or moved since it was queued), so stale
// references are simply skipped.
import type { CallContext } from '../rpc/grpc-server';

interface Waiter<R> {
  resolve(ref: R | null): void;
}

class Queue<R> {
  tasks: R[] = [];
  head = 0;
  waiters: Waiter<R>[] = [];
  activePolls = 0;

  shift(): R | undefined {
    if (this.head >= this.tasks.length) return undefined;
    const ref = this.tasks[this.head++];
    // Reclaim the consumed prefix once it dominates the array.
    if (this.head > 1024 && this.head * 2 > this.tasks.length) {
      this.tasks = this.tasks.slice(this.head);
      this.head = 0;
    }
    return ref;
  }

  get backlog(): number {
    return this.tasks.length - this.head;
  }
}

export class TaskQueues<R> {
  private queues = new Map<string, Queue<R>>();

  private queue(namespace: string, name: string): Queue<R> {
    const key = `${namespace}\u0000${name}`;
    let q = this.queues.get(key);
    if (!q) {
      q = new Queue<R>();
      this.queues.set(key, q);
    }
    return q;
  }

  add(namespace: string, name: string, ref: R): void {
    const q = this.queue(namespace, name);
    const waiter = q.waiters.shift();
    if (waiter) waiter.resolve(ref);
    else q.tasks.push(ref);
  }

  /** Forgets an idle, empty queue (each worker start names a new sticky queue). */
  private forgetIfIdle(namespace: string, name: string, q: Queue<R>): void {
    if (q.activePolls === 0 && q.backlog === 0 && q.waiters.length === 0) {
      this.queues.delete(`${namespace}\u0000${name}`);
    }
  }

  /**
   * Long-polls for a task: tries each queued reference with dispatch() (which returns
   * undefined for stale ones) and waits for new ones until waitMs elapses or the client
   * goes away. Resolves undefined on timeout.
   */
  async poll<T>(
    namespace: string,
    name: string,
    ctx: CallContext,
    waitMs: number,
    dispatch: (ref: R) => T | undefined,
  ): Promise<T | undefined> {
    const q = this.queue(namespace, name);
    q.activePolls++;
    try {
      return await this.pollQueue(q, ctx, waitMs, dispatch);
    } finally {
      q.activePolls--;
      this.forgetIfIdle(namespace, name, q);
    }
  }

  private async pollQueue<T>(
    q: Queue<R>,
    ctx: CallContext,
    waitMs: number,
    dispatch: (ref: R) => T | undefined,
  ): Promise<T | undefined> {
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      // Bounded by the queue length: every iteration consumes one reference.
      for (let ref = q.shift(); ref !== undefined; ref = q.shift()) {
        const task = dispatch(ref);
        if (task !== undefined) return task;
      }
      const remaining = giveUpAt - Date.now();
      if (remaining <= 0 || ctx.cancelled()) return undefined;
      const ref = await this.wait(q, ctx, remaining);
      if (ref === null) return undefined;
      if (ctx.cancelled()) {
        // The poller left while the task was being handed over: keep the task for the next one.
        this.addFront(q, ref);
        return undefined;
      }
      const task = dispatch(ref);
      if (task !== undefined) return task;
    }
  }

  private addFront(q: Queue<R>, ref: R): void {
    const waiter = q.waiters.shift();
    if (waiter) waiter.resolve(ref);
    else if (q.head > 0) q.tasks[--q.head] = ref;
    else q.tasks.unshift(ref);
  }

  private wait(q: Queue<R>, ctx: CallContext, waitMs: number): Promise<R | null> {
    return new Promise<R | null>((resolve) => {
      const waiter: Waiter<R> = {
        resolve: (ref) => {
          clearTimeout(timer);
          unsubscribe();
          resolve(ref);
        },
      };
      const drop = (): void => {
        const i = q.waiters.indexOf(waiter);
        if (i >= 0) q.waiters.splice(i, 1);
        waiter.resolve(null);
      };
      const timer = setTimeout(drop, waitMs);
      const unsubscribe = ctx.onCancel(drop);
      q.waiters.push(waiter);
    });
  }

  /** Answers every waiting poller with "no task" (server shutdown). */
  releaseAll(): void {
    for (const q of this.queues.values()) {
      for (const w of q.waiters.splice(0)) w.resolve(null);
    }
  }
}
