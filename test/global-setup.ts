// Runs once before the broker tests: a real RabbitMQ must answer, and the tutorial's Python
// client library must be importable. Either missing fails the run; nothing is skipped.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { aptInstall, brokerUrl, ensureBroker } from '../scripts/broker.mjs';

export const PYTHON = '/usr/bin/python3';

function ensurePika(): void {
  const probe = () => spawnSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore' }).status === 0;
  if (probe()) return;
  if (process.getuid?.() !== 0) {
    throw new Error("the interoperability tests need Debian's python3-pika: sudo apt-get install -y python3-pika");
  }
  aptInstall('python3-pika');
  if (!probe()) throw new Error('apt-get installed python3-pika, but python3 cannot import pika');
}

/**
 * The command-line tests run the built programs, so build them from the current sources:
 * what changed since the last build (its record is in dist/, so a deleted dist/ is built whole).
 */
function build(): void {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const result = spawnSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('tsc -b failed');
}

export default async function setup(): Promise<void> {
  build();
  const { url } = await ensureBroker();
  // Of a list (a cluster's nodes), the tests use the first.
  if (url !== brokerUrl()) throw new Error(`the tests use STOMP_URL's first URL, ${brokerUrl()}: it does not answer`);
  ensurePika();
}
