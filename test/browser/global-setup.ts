// Runs once before the browser tests: the packages and the script-tag bundle built from the
// current sources, a real RabbitMQ, and Debian's Chromium (installed when missing and running as
// root). Anything missing fails the run; nothing is skipped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aptInstall, brokerUrl, ensureBroker } from '../../scripts/broker.mjs';
import { CHROMIUM } from './browser.js';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The demo imports the built client (dist/), and embed.html the IIFE bundle: build both, from the current sources. */
function build(): void {
  const steps = [
    [fromRoot('node_modules/typescript/bin/tsc'), '-b'],
    [fromRoot('node_modules/vite/bin/vite.js'), 'build', '-c', fromRoot('packages/client/vite.config.ts')],
  ];
  for (const args of steps) {
    const result = spawnSync(process.execPath, args, { cwd: fromRoot('.'), stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`build step failed: ${args.join(' ')}`);
  }
}

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`the browser tests need Debian's chromium at ${CHROMIUM}: sudo apt-get install -y chromium`);
  }
  aptInstall('chromium');
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium, but there is nothing at ${CHROMIUM}`);
}

export default async function setup(): Promise<void> {
  build();
  const { url } = await ensureBroker();
  // Of a list (a cluster's nodes), the tests use the first.
  if (url !== brokerUrl()) throw new Error(`the tests use STOMP_URL's first URL, ${brokerUrl()}: it does not answer`);
  ensureChromium();
}
