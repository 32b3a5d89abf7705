// Invariants of the rules: a broken one is a bug and must crash, never be
// answered. (node:assert is not available here: domain/ is pure and runs
// inside workflow code too.)

export class InvariantError extends Error {
  constructor(message: string) {
    super(`invariant broken: ${message}`);
    this.name = 'InvariantError';
  }
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
