// What the browser tests share: Debian's Chromium driven by playwright-core (no browser
// download), the demo served by Vite with its own config, embed.html served by a plain static
// server, and a screenshot of every open page when a test fails.
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createServer as createViteServer, type ViteDevServer } from 'vite';

/** Debian's package puts it here; CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const RESULTS_DIR = fileURLToPath(new URL('../../test-results/browser/', import.meta.url));
const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Chromium's sandbox cannot run as root; elsewhere keep it on.
    chromiumSandbox: process.getuid?.() !== 0,
    timeout: 30_000,
  });
}

/** The demo app on a free loopback port, talking to `brokerUrl` with the browser user. */
export async function serveDemo(brokerUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  // Vite hands VITE_* variables from the environment to the page.
  process.env.VITE_STOMP_URL = brokerUrl;
  const server: ViteDevServer = await createViteServer({
    configFile: fromRoot('web/vite.config.ts'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | null;
  if (!address) throw new Error('the Vite server has no address');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

/**
 * embed.html and the IIFE bundle from the simplest static server there is: proof that the page
 * needs no build step and no Vite. Over https with `tls` (a key and certificate in PEM).
 */
export async function serveEmbedPage(tls?: {
  key: string;
  cert: string;
}): Promise<{ url: string; close: () => Promise<void> }> {
  const files: Record<string, [string, string]> = {
    '/embed.html': [fromRoot('web/embed.html'), 'text/html; charset=utf-8'],
    '/stomp-rpc.iife.js': [fromRoot('packages/client/dist/browser/stomp-rpc.iife.js'), 'text/javascript'],
  };
  const serve: RequestListener = (request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file[1] });
    createReadStream(file[0]).pipe(response);
  };
  const server: Server = tls ? createHttpsServer(tls, serve) : createHttpServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/embed.html`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Saves a full-page screenshot of each page to test-results/browser/<test name>-<page>.png. */
export async function screenshotPages(testName: string, pages: Record<string, Page | undefined>): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const base = testName
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
  for (const [name, page] of Object.entries(pages)) {
    if (!page || page.isClosed()) continue;
    await page.screenshot({ path: `${RESULTS_DIR}${base}-${name}.png`, fullPage: true, timeout: 5000 }).catch(() => {});
  }
}
