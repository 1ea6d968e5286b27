// Forms the three-node cluster for the cluster tests and prints the outcome as JSON, its last line
// on stdout (its progress goes to stderr). A process of its own, not a promise in Vitest's: scripts/cluster.mjs
// runs rabbitmqctl synchronously, which would stall the test runner for seconds at a time.
import { ensureCluster } from '../../scripts/cluster.mjs';

try {
  const { launched } = await ensureCluster();
  process.stdout.write(`\n${JSON.stringify({ launched: launched.map((node) => node.name) })}\n`);
} catch (error) {
  process.stdout.write(`\n${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exitCode = 1;
}
