// One scheduler for every timer and timeout in the server (workflow timers, activity
// and workflow-task timeouts, retry backoffs, run timeouts, test-service sleeps), over a
// heap keyed by due time on the server clock. Each key has at most one live entry:
// re-setting a key supersedes the old entry, which is dropped lazily when popped.
import type { Clock } from './clock';
import { MinHeap, type HeapItem } from './heap';

interface Entry extends HeapItem {
  key: string;
  fn: () => void;
}

// setTimeout cannot wait longer than this (about 24.8 days); longer waits re-arm.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
// Bounds the work done in one turn of the event loop so RPCs stay responsive.
const MAX_FIRES_PER_TURN = 2000;

export class Scheduler {
  private heap = new MinHeap<Entry>();
  private live = new Map<string, Entry>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedForMs = Infinity;
  private closed = false;
  /** Called after entries were added or fired, so time skipping can re-evaluate. */
  onChange: () => void = () => undefined;

  constructor(private readonly clock: Clock) {}

  set(key: string, atMs: number, fn: () => void): void {
    const entry: Entry = { key, atMs, fn, seq: this.seq++ };
    this.live.set(key, entry);
    this.heap.push(entry);
    this.compactIfBloated();
    this.arm();
    this.onChange();
  }

  clear(key: string): void {
    this.live.delete(key);
  }

  has(key: string): boolean {
    return this.live.has(key);
  }

  /** Due time of the earliest live entry, or undefined when nothing is scheduled. */
  nextDueMs(): number | undefined {
    this.dropStale();
    return this.heap.peek()?.atMs;
  }

  /** Fires every entry due at or before the clock's now. Returns how many fired. */
  fireDue(): number {
    let fired = 0;
    while (fired < MAX_FIRES_PER_TURN) {
      this.dropStale();
      const top = this.heap.peek();
      if (!top || top.atMs > this.clock.now()) break;
      this.heap.pop();
      this.live.delete(top.key);
      fired++;
      top.fn();
    }
    if (fired === MAX_FIRES_PER_TURN) setImmediate(() => this.fireDue());
    this.arm();
    if (fired > 0) this.onChange();
    return fired;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Re-arms the real-time wake-up; needed after the virtual clock jumps. */
  arm(): void {
    if (this.closed) return;
    const next = this.nextDueMs();
    if (next === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedForMs = Infinity;
      return;
    }
    if (this.timer && this.armedForMs === next) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, next - this.clock.now()), MAX_TIMEOUT_MS);
    this.armedForMs = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedForMs = Infinity;
      this.fireDue();
    }, delay);
  }

  private dropStale(): void {
    for (;;) {
      const top = this.heap.peek();
      if (!top || this.live.get(top.key) === top) return;
      this.heap.pop();
    }
  }

  private compactIfBloated(): void {
    if (this.heap.size > 1024 && this.heap.size > 4 * this.live.size) {
      this.heap.filter((e) => this.live.get(e.key) === e);
    }
  }
}
