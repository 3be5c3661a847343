import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['test/setup/guards.ts'],
    // dist/ from the current src/: the demo, the examples and chromium load the package as it ships
    globalSetup: ['test/setup/build.ts'],
    // two cores: two worker processes
    pool: 'forks',
    maxWorkers: 2,
    // test files share their worker processes instead of loading every module again for each
    // file (27 s of imports on 2 cores, 8 s shared); tests restore what they change, and the
    // guards fail a test on console noise or an unhandled error it left
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // the test build of the Lua scripts: every command's keys checked against KEYS (defineScript)
    env: { SOCKET_IO_SUPERVISOR_KEY_CHECK: '1' },
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    // every test runs twice: with the default passivateAfter, and with every client passivated
    // as soon as it is idle (its actor re-created from its snapshot for each event)
    projects: [
      {
        extends: true,
        test: { name: 'default', setupFiles: ['test/setup/guards.ts', 'test/setup/passivate-default.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'passivate-at-once',
          setupFiles: ['test/setup/guards.ts', 'test/setup/passivate-at-once.ts'],
          // what passivation cannot change: no client actor in them (the Redis scripts, the machine
          // alone, static checks of the sources and the package), child processes the setup does
          // not reach (node:test runs), and the inspector page in chromium (its data comes from
          // list() and events$, checked passivated everywhere else)
          exclude: [
            'test/cluster/**',
            'test/architecture.test.ts',
            'test/exports.test.ts',
            'test/packaging.test.ts',
            'test/validate.test.ts',
            'test/rateLimiter.test.ts',
            'test/statechart.test.ts',
            'test/client.machine.test.ts',
            'test/model/node.paths.test.ts',
            'test/testing/entry.test.ts',
            'test/testing/runners.test.ts',
            'test/inspector.page.browser.test.ts',
            'test/inspector.browser.test.ts',
            'test/export-as-test.browser.test.ts',
            'test/docs.test.ts',
            'test/quickstart.test.ts',
            'test/ops.test.ts',
          ],
          // the real-socket churn runs its full 20,000 operations once (default project); here half
          env: { CHURN_OPS: '10000' },
        },
      },
      {
        // not `extends`: it would add these include patterns to the root's, not replace them
        test: {
          name: 'redis-cluster',
          // the Redis layer's files once more, on a 3-master Redis Cluster with 16 partitions (key
          // layout 3: useRedis() in test/cluster/helpers.ts; schema.test.ts stays on 1; test/README.md,
          // "What runs where"), and the multi-process files (scenarios.test.ts: its nodes on the cluster, one node killed during a
          // reshard; delivery.scenarios.test.ts; ownership.test.ts; faults.test.ts, a node cut off from every master)
          include: [
            'test/cluster/{claim,disconnect,delete,sweep,races,reads,outbox,nodes,model,schema,records,dueHooks,partitions,migrate,scenarios,delivery.scenarios,ownership,faults}.test.ts',
          ],
          setupFiles: ['test/setup/guards.ts', 'test/setup/passivate-default.ts'],
          // per project (an env variable could outlive its file in a shared worker)
          provide: { redisTopology: 'cluster' },
          env: { SOCKET_IO_SUPERVISOR_KEY_CHECK: '1' },
          pool: 'forks',
          isolate: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
