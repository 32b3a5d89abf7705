// What a process has started, stopped in reverse order: on SIGTERM or SIGINT,
// when start-up fails half-way (so no embedded server is left running), or
// when a part fails while running. A second signal (a person insisting, not a
// relayed copy of the first) exits at once.
import type { Logger } from 'pino';
import { DataDirInUseError } from './data-dir-lock';

/** Signals this soon after the first are copies of it, not a second request. */
const DUPLICATE_SIGNAL_WINDOW_MS = 1000;

export class Lifecycle {
  private readonly parts: { name: string; stop: () => Promise<void> }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers something to stop; later registrations stop first. */
  add(name: string, stop: () => Promise<void>): void {
    this.parts.push({ name, stop });
  }

  /** Stops every part (each failure is logged, the rest still stop). */
  stopAll(): Promise<void> {
    return (this.stopping ??= (async () => {
      for (const part of [...this.parts].reverse()) {
        try {
          await part.stop();
        } catch (error) {
          this.logger.error({ err: error, part: part.name }, 'failed to stop');
        }
      }
    })());
  }

  /** Stops everything and exits: 0 on a signal, 1 after a failure. */
  exit(code: 0 | 1, reason: string): void {
    this.logger.info({ reason }, 'shutting down');
    void this.stopAll().then(() => {
      this.logger.info('stopped');
      process.exit(code);
    });
  }

  onSignals(): void {
    let firstAtMs: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      const now = Date.now();
      if (firstAtMs === undefined) {
        firstAtMs = now;
        this.exit(0, signal);
        return;
      }
      // Ctrl-C reaches every process of the terminal's group, and wrappers (npm, tsx)
      // relay it too: a copy arriving right after the first is not a person insisting.
      if (now - firstAtMs < DUPLICATE_SIGNAL_WINDOW_MS) return;
      this.logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  }
}

/** Runs `start`; if it throws, stops what it had started and exits 1 with the cause. */
export async function startOrExit(
  lifecycle: Lifecycle,
  what: string,
  start: () => Promise<void>,
): Promise<void> {
  try {
    await start();
  } catch (error) {
    // A refusal the person can act on is said in one line; anything else with its stack.
    if (error instanceof DataDirInUseError) console.error(`${what} failed: ${error.message}`);
    else console.error(`${what} failed:`, error);
    await lifecycle.stopAll();
    process.exit(1);
  }
}
