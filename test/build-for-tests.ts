// The tests run the built programs and pages (dist/), so each project's global setup builds them
// from the current sources first. In full (`--force`: an incremental build trusts file times,
// which an edit saved during a build can fool), and once per run: Vitest runs every project's
// global setup in its own process, so the projects after the first find it done.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fromRoot = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** What this process has built, on globalThis: each setup file may get its own copy of this module. */
const BUILT = Symbol.for('stomp-rpc.tests.built');
const shared = globalThis as { [BUILT]?: Set<string> };
shared[BUILT] ??= new Set();
const built = shared[BUILT];

const STEPS = {
  packages: [fromRoot('node_modules/typescript/bin/tsc'), '-b', '--force'],
  /** The script-tag bundle, which embed.html loads; from the packages' dist/. */
  bundle: [fromRoot('node_modules/vite/bin/vite.js'), 'build', '-c', fromRoot('packages/client/vite.config.ts')],
} as const;

/** Builds the packages (and with `bundle`, the script-tag bundle) unless this run has. */
export function buildForTests({ bundle = false } = {}): void {
  for (const step of bundle ? (['packages', 'bundle'] as const) : (['packages'] as const)) {
    if (built.has(step)) continue;
    const result = spawnSync(process.execPath, STEPS[step], { cwd: fromRoot('.'), stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`build step failed: ${STEPS[step].join(' ')}`);
    built.add(step);
  }
}
