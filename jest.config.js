// Tests run TypeScript through SWC (fast, keeps decorator metadata for Nest's DI).
// Nest 12 and several of its dependencies ship as pure ES modules; Node 20 loads
// them with require(esm), which Jest's own module loader cannot do before Node 24.9,
// so Jest transforms those packages to CommonJS as well.
/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts', '**/*.browser-spec.ts'],
  transform: { '^.+\\.(ts|js|mjs)$': swc },
  transformIgnorePatterns: [],
  // VEGA_TEST_DATABASE=postgres / VEGA_TEST_REDIS=1: one shared server each for the run (test/support/global-setup.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 20000,
  maxWorkers: 2,
};
