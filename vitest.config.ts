import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const fromRoot = (path: string) => fileURLToPath(new URL(path, import.meta.url));
/** Waits out Web-STOMP's idle timeout: it runs beside the packaging tests (see its project). */
const IDLE_CONNECTIONS = 'test/browser/idle-connections.test.ts';

// Tests run against the TypeScript sources, so `vitest` works without a build.
const resolve = {
  alias: [
    { find: /^@stomp-rpc\/client$/, replacement: fromRoot('./packages/client/src/index.ts') },
    { find: /^@stomp-rpc\/client\/protocol$/, replacement: fromRoot('./packages/client/src/protocol/index.ts') },
    { find: /^@stomp-rpc\/client\/internal$/, replacement: fromRoot('./packages/client/src/internal.ts') },
    { find: /^@stomp-rpc\/server$/, replacement: fromRoot('./packages/server/src/index.ts') },
    {
      find: /^#default-websocket$/,
      replacement: fromRoot('./packages/client/src/transport/default-websocket.node.ts'),
    },
  ],
};

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'web/src/**/*.test.ts', 'scripts/*.test.ts', 'bench/*.test.ts'],
          // Two files at a time (Vitest's default is one less than the cores: one, here): no broker,
          // and no other project in this first group (the cluster forms beside it, a light load).
          maxWorkers: 2,
        },
      },
      {
        resolve,
        test: {
          name: 'broker',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/browser/**', 'test/cluster/**', 'test/packaging/**'],
          // Brings up RabbitMQ (and the tutorial's Python client library) or fails the run.
          globalSetup: ['test/global-setup.ts'],
          // One file at a time: the broker is shared and the machine has two cores.
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Last, where Vitest puts it anyway. Every project's global setup runs before the first
          // test and its teardown after the last, so the cluster's three nodes are up (idle: under
          // 2% of one core together) through the browser, packaging and broker tests too.
          sequence: { groupOrder: 4 },
        },
      },
      {
        resolve,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          exclude: [...configDefaults.exclude, IDLE_CONNECTIONS],
          // Builds the client and its script-tag bundle, brings up RabbitMQ and Debian's Chromium,
          // or fails the run.
          globalSetup: ['test/browser/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // After the unit tests, alone: these tests restart the broker they share.
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          // Forms the three-node cluster of `npm run broker:cluster` in the background, while the
          // groups before this one run; each file waits for it, and fails if it did not form.
          globalSetup: ['test/cluster/global-setup.ts'],
          setupFiles: ['test/cluster/cluster-ready.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Alone: these tests kill cluster nodes and load the machine.
          sequence: { groupOrder: 2 },
        },
      },
      {
        resolve,
        test: {
          name: 'browser-idle',
          include: [IDLE_CONNECTIONS],
          // The browser project's setup: the script-tag bundle, RabbitMQ, Chromium.
          globalSetup: ['test/browser/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Beside the packaging tests (Vitest runs one file at a time unless a group allows two):
          // this file mostly waits out Web-STOMP's 60 s idle timeout, and they need the CPU but not
          // the broker, which nothing else uses meanwhile.
          maxWorkers: 2,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'packaging',
          include: ['test/packaging/**/*.test.ts'],
          // Packs both workspaces from a fresh copy and installs the tarballs into a scratch project
          // (npm's cache or registry for @types/node); no broker. Builds, installs and type-checks
          // take a minute: after the cluster tests, so it neither loads nor waits for them, and
          // before the broker tests, with only the idle browser connections beside it.
          testTimeout: 120_000,
          hookTimeout: 420_000,
          maxWorkers: 2, // as its group's other project
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
