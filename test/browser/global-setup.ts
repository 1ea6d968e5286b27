// Runs once before the browser tests: the packages and the script-tag bundle built from the
// current sources, a real RabbitMQ, and Debian's Chromium (installed when missing and running as
// root). Anything missing fails the run; nothing is skipped.
import { existsSync } from 'node:fs';
import { aptInstall, brokerUrl, ensureBroker, requireOwnBroker } from '../../scripts/broker.mjs';
import { buildForTests } from '../build-for-tests.js';
import { CHROMIUM } from './browser.js';

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the browser tests need Debian's chromium at ${CHROMIUM}: sudo apt-get install -y chromium`);
  }
  aptInstall('chromium');
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but there is nothing at ${CHROMIUM}`);
}

export default async function setup(): Promise<void> {
  buildForTests({ bundle: true }); // the demo imports the built client, embed.html the script-tag bundle
  const broker = await ensureBroker();
  requireOwnBroker(broker);
  const { url } = broker;
  // Of a list (a cluster's nodes), the tests use the first.
  if (url !== brokerUrl()) throw new Error(`the tests use STOMP_URL's first URL, ${brokerUrl()}: it does not answer`);
  ensureChromium();
}
