// Where services read the time: one seam, so tests can run the API on the same
// clock as a time-skipping Temporal server. (Workflows use their own,
// deterministic clock, never this.)
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
