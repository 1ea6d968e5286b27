/// <reference lib="dom" />
// (DOM types for the callbacks given to page.evaluate, which run in the page.)
// Connections left idle past Web-STOMP's 60 s idle timeout, against the real broker: a page in a
// hidden tab and a frozen page in Debian's real Chromium, and a Node client. With them, the server
// command line against a broker that stays silent past its 30 s start wait. All four wait at once
// (one wait instead of four): nothing here restarts the broker or loads the machine.
//
// Why this Chromium is launched by hand: Playwright's own launch turns background timer throttling
// off (--disable-background-timer-throttling and friends) and enables focus emulation on every
// page, which keeps a page visible: behind another tab it still reads `visibilityState` 'visible',
// and Page.setWebLifecycleState('frozen') has no effect (a once-a-second timer kept ticking through
// 70 s "frozen"). Launched without those flags and attached with `noDefaults` (no focus emulation),
// a page behind another tab is hidden, and freezing stops its timers. Chrome throttles a hidden
// tab's chained timers to one run a minute only after five minutes hidden; the
// IntensiveWakeUpThrottling feature's grace period is shortened to 10 s here. Each test proves the
// page really was hidden or frozen with a once-a-second chained timer that barely ticked.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FibonacciRpcClient } from '@stomp-rpc/client';
import { fibonacciHandler, RpcServer } from '@stomp-rpc/server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { BROKER_URL, spawnChild } from '../support.js';
import { CHROMIUM } from './browser.js';

const QUEUE = 'rpc_queue';
const GRACE_S = 10;
/** Longer than Web-STOMP's 60 s idle timeout. */
const AWAY_MS = 65_000;
const IIFE = fileURLToPath(new URL('../../packages/client/dist/browser/stomp-rpc.iife.js', import.meta.url));

/**
 * The client as a plain page would use it, plus what the tests read: a once-a-second chained timer
 * (the proof of throttling or freezing), the page's lifecycle events and the connection's states.
 * The keepalive timer runs every 1.5 s so that it is past its fifth run (from then on Chrome
 * throttles it like any chained timer) before the grace period ends; at the default 20 s that
 * takes 100 s of connection.
 */
const PAGE = (brokerUrl: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>idle connections</title><link rel="icon" href="data:,"></head>
<body><script src="/stomp-rpc.iife.js"></script><script>
  window.tickTimes = [];
  (function tick() { tickTimes.push(Date.now()); setTimeout(tick, 1000); })();
  window.lifecycle = [];
  for (const type of ['visibilitychange', 'freeze', 'resume']) {
    document.addEventListener(type, () => lifecycle.push(type + ':' + document.visibilityState));
  }
  window.states = [];
  window.client = new StompRpc.FibonacciRpcClient({
    url: ${JSON.stringify(brokerUrl)}, login: 'rpc-browser', passcode: 'rpc-browser', queue: ${JSON.stringify(QUEUE)},
    exchange: 'rpc', keepaliveMs: 1500,
    onStateChange(state, reason) { states.push({ state, at: Date.now(), reason: reason ? reason.code + ': ' + reason.message : '' }); },
  });
  window.callFib = (n) => client.call(n).then((result) => String(result.value ?? result), (error) => 'error ' + error.code + ': ' + error.message);
</script></body></html>`;

interface PageState {
  visibility: DocumentVisibilityState;
  tickTimes: number[];
  lifecycle: string[];
  states: { state: string; at: number; reason: string }[];
  reconnects: number;
}

/** A Chromium of its own, with the process and profile to clean up. */
interface LaunchedChromium {
  child: ChildProcess;
  profileDir: string;
  browser?: Browser;
}

/** One per scenario: each runs alone in its browser (see the describe below for why). */
const launched: LaunchedChromium[] = [];
let pageServer: Server | undefined;
let hiddenTabContext: BrowserContext;
let frozenPageContext: BrowserContext;
let pageUrl: string;
let rpcServer: RpcServer | undefined;

/**
 * A Chromium of its own with its timer throttling on, attached without Playwright's focus
 * emulation; returns its default context.
 */
async function launchThrottlingChromium(): Promise<BrowserContext> {
  const profileDir = await mkdtemp(join(tmpdir(), 'stomp-rpc-chromium-'));
  const args = [
    '--headless',
    '--remote-debugging-port=0',
    `--user-data-dir=${profileDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-extensions',
    `--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/${GRACE_S}`,
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), // the sandbox cannot run as root
    'about:blank',
  ];
  const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const instance: LaunchedChromium = { child, profileDir };
  launched.push(instance);
  const endpoint = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${output}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
      const found = /DevTools listening on (ws:\S+)/.exec(output);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`Chromium exited with ${code}:\n${output}`)));
  });
  instance.browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
  const context = instance.browser.contexts()[0];
  if (!context) throw new Error('Chromium has no default context');
  return context;
}

const readState = (page: Page): Promise<PageState> =>
  page.evaluate(() => ({
    visibility: document.visibilityState,
    tickTimes: (window as unknown as { tickTimes: number[] }).tickTimes,
    lifecycle: (window as unknown as { lifecycle: string[] }).lifecycle,
    states: (window as unknown as { states: PageState['states'] }).states,
    reconnects: (window as unknown as { client: { stats: { reconnects: number } } }).client.stats.reconnects,
  }));

/** fib(30) from the page: the value, or "error CODE: message", and how long it took. */
async function callFromPage(page: Page): Promise<{ answer: string; ms: number }> {
  const startedAt = Date.now();
  const answer = await page.evaluate(() =>
    (window as unknown as { callFib: (n: number) => Promise<string> }).callFib(30),
  );
  return { answer, ms: Date.now() - startedAt };
}

async function openConnectedPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.waitForFunction(() => (window as unknown as { client: { state: string } }).client.state === 'connected', {
    timeout: 10_000,
  });
  expect((await callFromPage(page)).answer).toBe('832040');
  return page;
}

const ticksBetween = (times: number[], from: number, to: number) => times.filter((at) => at > from && at < to).length;

beforeAll(async () => {
  rpcServer = new RpcServer({
    url: BROKER_URL,
    login: 'rpc-server',
    passcode: 'rpc-server',
    queue: QUEUE,
    id: 'idle-connections-test',
    handler: fibonacciHandler(),
  });
  await rpcServer.start(10_000);
  const html = PAGE(BROKER_URL);
  const bundle = await readFile(IIFE);
  const server = createServer((request, response) => {
    if (request.url === '/stomp-rpc.iife.js')
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  pageServer = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  [hiddenTabContext, frozenPageContext] = await Promise.all([launchThrottlingChromium(), launchThrottlingChromium()]);
}, 60_000);

afterAll(async () => {
  await Promise.all(launched.map(closeChromium));
  const server = pageServer;
  if (server) await new Promise((resolve) => server.close(resolve));
  await rpcServer?.stop(1000);
});

async function closeChromium({ child, profileDir, browser }: LaunchedChromium): Promise<void> {
  await browser?.close().catch(() => {});
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
  await rm(profileDir, { recursive: true, force: true, maxRetries: 3 });
}

// At the same time, each page in a Chromium of its own: with both in one browser, the hidden page's
// timer was not throttled while the other page was frozen (it ticked 24 times in 68 s instead of at
// most twice). The Node tests clean up through their own context's onTestFinished (the global one
// cannot tell concurrent tests apart); the pages are closed by each test and the browsers by afterAll.
describe.concurrent('idle connections', () => {
  it('node - an idle client keeps its connection past Web-STOMP’s 60 s idle timeout', async ({ onTestFinished }) => {
    const states: string[] = [];
    const client = new FibonacciRpcClient({
      url: BROKER_URL,
      queue: QUEUE,
      onStateChange: (state) => states.push(state),
    });
    onTestFinished(() => client.close());
    await client.ready(5000);
    await sleep(AWAY_MS);
    expect(states).toEqual(['connected']);
    expect(client.stats.reconnects).toBe(0);
    await expect(client.call(12)).resolves.toBe(144n);
  }, 120_000);

  // start() gives up its wait after 30 s and the server goes on trying: a refusal coming after that
  // (a broker that was down, then up with other passwords) must still stop it.
  it('server cli - a login refused only after its first 30 s of trying still stops it, with exit 1', async ({
    onTestFinished,
  }) => {
    let refusing = false;
    const broker = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (offered) => [...offered][0] ?? false,
    });
    onTestFinished(() => new Promise<void>((resolve) => broker.close(() => resolve())));
    broker.on('connection', (socket) => {
      socket.on('message', () => {
        // Silent at first (no CONNECTED: each attempt times out); then RabbitMQ's answer to a wrong password.
        if (refusing)
          socket.send("ERROR\nmessage:Bad CONNECT\ncontent-type:text/plain\n\nAccess refused for user 'guest'\n\0");
      });
    });
    await new Promise((resolve) => broker.once('listening', resolve));
    const url = `ws://127.0.0.1:${(broker.address() as AddressInfo).port}/ws`;
    const server = spawnChild(
      process.execPath,
      ['packages/server/dist/cli.js', '--url', url],
      {},
      { onFinished: onTestFinished },
    );
    await server.waitFor('not serving yet; still trying', 45_000);
    refusing = true;
    expect(await server.exited(30_000)).toBe(1);
    expect(server.stdout()).toContain('the broker refused the login');
  }, 120_000);

  it('hidden tab - timers throttled to once a minute for 65 s: the connection is kept (an end-of-line at least every 30 s), and a call right after the tab returns succeeds', async () => {
    const page = await openConnectedPage(hiddenTabContext);
    const network = await hiddenTabContext.newCDPSession(page);
    const sentAt: number[] = [];
    network.on('Network.webSocketFrameSent', () => sentAt.push(Date.now()));
    await network.send('Network.enable');
    const cover = await hiddenTabContext.newPage(); // the tab in front
    await cover.bringToFront();
    const hiddenAt = Date.now();
    expect((await readState(page)).visibility).toBe('hidden');

    await sleep(GRACE_S * 1000 + AWAY_MS);
    const away = await readState(page);
    const throttledFrom = hiddenAt + (GRACE_S + 4) * 1000;
    const returnedAt = Date.now();
    expect(away.visibility).toBe('hidden');
    // Proof of the throttling: a once-a-second chained timer ran at most twice in those 61 s (its
    // wake-ups are aligned to the minute; it ran every 2 s for the grace period, until about 12.1 s).
    const ticks = away.tickTimes.filter((at) => at > hiddenAt).map((at) => ((at - hiddenAt) / 1000).toFixed(1));
    expect(
      ticksBetween(away.tickTimes, throttledFrom, returnedAt),
      `ticks at ${ticks.join(', ')} s`,
    ).toBeLessThanOrEqual(2);
    // Web-STOMP closes a connection silent for 60 s: the page kept writing (heart-beat answers).
    const gaps = [throttledFrom, ...sentAt.filter((at) => at > throttledFrom), returnedAt]
      .map((at, index, times) => at - (times[index - 1] ?? at))
      .slice(1);
    expect(Math.max(...gaps), `gaps between frames sent: ${gaps.join(', ')} ms`).toBeLessThan(30_000);

    await page.bringToFront();
    const call = await callFromPage(page);
    const back = await readState(page);
    expect(back.visibility).toBe('visible');
    expect(call.answer).toBe('832040');
    expect(call.ms).toBeLessThan(5000);
    // Kept, not regained: no reconnect while hidden.
    expect(back.states.map(({ state }) => state)).toEqual(['connected']);
    expect(back.reconnects).toBe(0);
    await cover.close();
    await page.close();
  }, 120_000);

  it('frozen page - frozen for 65 s (the broker closes the silent connection): on resume it reconnects at once, and a call right after succeeds', async () => {
    const page = await openConnectedPage(frozenPageContext);
    const cover = await frozenPageContext.newPage(); // Chrome freezes tabs that are hidden
    await cover.bringToFront();
    const lifecycle = await frozenPageContext.newCDPSession(page);
    const before = await readState(page);
    await lifecycle.send('Page.setWebLifecycleState', { state: 'frozen' });
    const frozenAt = Date.now(); // once the command is done: on a loaded machine it may take a while
    await sleep(AWAY_MS);
    await lifecycle.send('Page.setWebLifecycleState', { state: 'active' });
    const resumedAt = Date.now();
    await page.bringToFront();
    const call = await callFromPage(page);
    const after = await readState(page);

    // Proof of the freeze: the once-a-second timer did not run while frozen.
    expect(ticksBetween(after.tickTimes, frozenAt + 1000, resumedAt)).toBe(0);
    expect(after.tickTimes.length).toBeLessThanOrEqual(before.tickTimes.length + (Date.now() - resumedAt) / 1000 + 2);
    expect(after.lifecycle).toEqual(
      expect.arrayContaining(['freeze:hidden', 'resume:hidden', 'visibilitychange:visible']),
    );
    expect(call.answer).toBe('832040');
    expect(call.ms).toBeLessThan(5000);
    // The connection was lost while frozen and regained right after the resume.
    const states = after.states.map(({ state }) => state);
    expect(states).toEqual(['connected', 'reconnecting', 'connected']);
    const reconnected = after.states[2]?.at ?? Number.POSITIVE_INFINITY;
    expect(reconnected - resumedAt).toBeLessThan(2000);
    expect(after.reconnects).toBe(1);
    await cover.close();
    await page.close();
  }, 120_000);
});
