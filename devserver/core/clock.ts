// The server's notion of "now". start-dev uses the machine clock. Test-server mode uses
// a virtual clock: it runs at real pace from the moment the server starts, plus an
// offset that only grows when time skipping jumps ahead (as Temporal's Java test server
// does), so "now" never goes backwards.
export interface Clock {
  now(): number;
  readonly virtual: boolean;
}

export class RealClock implements Clock {
  readonly virtual = false;
  now(): number {
    return Date.now();
  }
}

export class VirtualClock implements Clock {
  readonly virtual = true;
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves the clock forward to atMs; a time in the past is a no-op. */
  advanceTo(atMs: number): void {
    const now = this.now();
    if (atMs > now) this.offsetMs += atMs - now;
  }
}
