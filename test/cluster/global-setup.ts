// Runs once before the cluster tests: the three-node cluster of `npm run broker:cluster` must be
// up (what is missing of it is started, and stopped again afterwards).
import { ensureCluster, stopCluster } from '../../scripts/cluster.mjs';
import { buildForTests } from '../build-for-tests.js';

export default async function setup(): Promise<() => void> {
  buildForTests(); // the tests fork the built command lines
  const { launched } = await ensureCluster();
  return () => stopCluster(launched); // the members an operator had running keep running
}
