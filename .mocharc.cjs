// Mocha's settings. No test may be skipped or focused, except one case: with
// TEMPORAL_TEST_ADDRESS the workflow tests run against a real Temporal, which
// cannot skip time, and the tests that need it say so and are skipped there.
module.exports = {
  extension: ['ts'],
  require: ['tsx/cjs', 'test/setup/root-hooks.ts'],
  timeout: 60000,
  exit: true,
  'forbid-only': true,
  'forbid-pending': !process.env.TEMPORAL_TEST_ADDRESS,
};
