import { defineConfig } from 'vitest/config';

// Three suites, one command: `npm test` runs them all. Integration tests share one moto server
// started by the global setup; simulator tests start their own simulator on a free port.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Some synthesize whole CDK apps or bundle functions: seconds each on a loaded 2-core machine.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          // The emulator accepts any credentials; these keep the SDK from looking for real ones.
          env: {
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
            // Metrics are counted as in production, but not printed as EMF lines between test output.
            POWERTOOLS_METRICS_DISABLED: 'true',
          },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'simulator',
          include: ['test/simulator/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
