// Runs once before the broker tests: a real RabbitMQ must answer, and the tutorial's Python
// client library must be importable. Either missing fails the run; nothing is skipped.
import { spawnSync } from 'node:child_process';
import { aptInstall, brokerUrl, ensureBroker, requireOwnBroker } from '../scripts/broker.mjs';
import { buildForTests } from './build-for-tests.js';

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

export default async function setup(): Promise<void> {
  buildForTests(); // the command-line tests run the built programs
  const broker = await ensureBroker();
  requireOwnBroker(broker);
  const { url } = broker;
  // Of a list (a cluster's nodes), the tests use the first.
  if (url !== brokerUrl()) throw new Error(`the tests use STOMP_URL's first URL, ${brokerUrl()}: it does not answer`);
  ensurePika();
}
