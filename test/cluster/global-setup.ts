// Runs once before the cluster tests: the three-node cluster of `npm run broker:cluster` must be
// up (what is missing of it is started, and stopped again afterwards).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureCluster, stopCluster } from '../../scripts/cluster.mjs';

/**
 * The tests fork the built command lines, so build them from the current sources:
 * what changed since the last build (its record is in dist/, so a deleted dist/ is built whole).
 */
function build(): void {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const result = spawnSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('tsc -b failed');
}

export default async function setup(): Promise<() => void> {
  build();
  const { launched } = await ensureCluster();
  return () => stopCluster(launched); // the members an operator had running keep running
}
