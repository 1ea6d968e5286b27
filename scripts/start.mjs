#!/usr/bin/env node
// `npm start`: the broker (started if none answers), two Fibonacci servers sharing rpc_queue, the
// demo web app (Vite, on loopback), and how to call them. Ctrl-C stops the servers and the demo;
// the broker keeps running (`npm run broker:stop`).
//
// Signals: a terminal's Ctrl-C sends SIGINT to its whole foreground process group. A server in that
// group would get it and then this script's SIGTERM, take the two for a double Ctrl-C, and exit
// without finishing its requests. So the servers run in process groups of their own and hear only
// this script: the first SIGINT or SIGTERM sends each one SIGTERM (it answers what it holds, then
// exits); a second is passed on, and they exit at once (the broker requeues what they held). However
// this script ends, the servers are signalled; killed with SIGKILL it cannot, but then their IPC
// channel to it closes and each stops as on a first signal (packages/server/src/cli.ts).
// `npm start` execs this script (package.json), so that npm's SIGTERM reaches it, not a shell that
// would die and leave it running; a terminal's Ctrl-C then comes twice, from the terminal and from
// npm, and the second copy is not a second Ctrl-C (newSignalCheck).
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newSignalCheck } from '@stomp-rpc/client/internal';
import { brokerUrl, brokerUrls, ensureBroker, nodePid, nodeProfile, shownUrl } from './broker.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const serverCount = 2;
const readyTimeoutMs = 30_000;
const DEFAULT_STOMP_URL = 'ws://127.0.0.1:15674/ws';
const stopTimeoutMs = 15_000;

function startServer(name) {
  const child = spawn(process.execPath, [join(root, 'packages/server/dist/cli.js')], {
    cwd: root,
    // The broker ensureBroker() made sure of (another node's with STOMP_RPC_NODE), as the demo's.
    env: { ...process.env, STOMP_URL: process.env.STOMP_URL || brokerUrl() },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true, // its own process group: see the top of the file
  });
  const ready = new Promise((resolveReady, rejectReady) => {
    const timer = setTimeout(
      () => rejectReady(new Error(`${name} did not connect within ${readyTimeoutMs} ms`)),
      readyTimeoutMs,
    );
    const onLine = (line) => {
      process.stdout.write(`[${name}] ${line}\n`);
      if (line.includes('"awaiting RPC requests"')) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rejectReady(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready`));
    });
  });
  const exited = new Promise((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ name, code, signal })),
  );
  return { name, child, ready, exited };
}

const running = (servers) => servers.filter(({ child }) => child.exitCode === null && child.signalCode === null);

async function stopAll(servers) {
  for (const { child } of running(servers)) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of running(servers)) child.kill('SIGKILL');
  }, stopTimeoutMs);
  await Promise.all(servers.map((server) => server.exited));
  clearTimeout(timer);
}

/**
 * The demo (web/) from Vite's dev server. The page connects to the same broker as the servers,
 * as the browser user unless VITE_STOMP_LOGIN says otherwise (web/src/config.ts).
 */
async function startDemo() {
  const { createServer, loadEnv } = await import('vite');
  // Unless web/.env.local (or the environment) names the demo's broker itself, as web/src/config.ts
  // documents: a variable set here would override the file.
  const ownEnv = loadEnv('development', join(root, 'web'), 'VITE_');
  const ownUrl = ownEnv.VITE_STOMP_URL;
  // The page gets the servers' broker without any user and password in its URLs: those are the
  // servers' own, and the page logs in as the browser user.
  process.env.VITE_STOMP_URL ??= ownUrl || brokerUrls().map(shownUrl).join(',');
  const ownListeners = { sigterm: process.listeners('SIGTERM'), stdinEnd: process.stdin.listeners('end') };
  const server = await createServer({
    configFile: join(root, 'web/vite.config.ts'),
    clearScreen: false,
    logLevel: 'warn',
  });
  // Vite's dev server closes itself and exits the process on SIGTERM (and when stdin ends), which
  // would leave the servers unwaited for: here this script stops them first, then the demo.
  for (const listener of process.listeners('SIGTERM')) {
    if (!ownListeners.sigterm.includes(listener)) process.off('SIGTERM', listener);
  }
  for (const listener of process.stdin.listeners('end')) {
    if (!ownListeners.stdinEnd.includes(listener)) process.stdin.off('end', listener);
  }
  let url;
  try {
    await server.listen();
    url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('the demo server has no URL');
  } catch (error) {
    await server.close(); // its watchers would keep this process alive after the failure
    throw error;
  }
  return { url, embedUrl: `${url}embed.html${embedQuery(ownEnv)}`, close: () => server.close() };
}

/**
 * The plain page takes the broker, queue and vhost from its query string (it has no build step to
 * put them in): those of the demo, where they differ from the defaults both pages share.
 */
function embedQuery(ownEnv) {
  const query = new URLSearchParams();
  if (process.env.VITE_STOMP_URL !== DEFAULT_STOMP_URL) query.set('url', process.env.VITE_STOMP_URL);
  if (ownEnv.VITE_RPC_QUEUE) query.set('queue', ownEnv.VITE_RPC_QUEUE);
  if (ownEnv.VITE_STOMP_VHOST && ownEnv.VITE_STOMP_VHOST !== '/') query.set('vhost', ownEnv.VITE_STOMP_VHOST);
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

/** The management UI of the project's running node (single or cluster member) serving `url`; none for another broker. */
function managementNote(url) {
  const { hostname, port } = new URL(url);
  const node = Array.from({ length: 10 }, (_, index) => nodeProfile(index)).find(
    (candidate) => candidate.ports.webStomp === Number(port),
  );
  const ours = node !== undefined && ['127.0.0.1', 'localhost'].includes(hostname) && nodePid(node) !== undefined;
  return ours ? `  (management http://127.0.0.1:${node.ports.management}, guest/guest)` : '';
}

/** How to reach what runs, once everything is up; `broker`: the URL that answered (one of a cluster's). */
function printBanner(broker, servers, demo) {
  process.stdout.write(`
stomp-rpc is running
  broker   ${shownUrl(broker)}${managementNote(broker)}
  servers  ${serverCount} on rpc_queue (pids ${servers.map((server) => server.child.pid).join(', ')})
  demo     ${demo.url}  (the same call from a plain page: ${demo.embedUrl})

Open the demo in a browser, or call them from another terminal:
  npm run client -- 30
  npm run client -- 1000

Ctrl-C stops the servers and the demo; the broker keeps running until: npm run broker:stop
`);
}

/** Resolves with every server's exit; one that exits while nothing stops it is reported. */
function untilServersExit(servers, stopping) {
  return Promise.all(
    servers.map((server) =>
      server.exited.then((outcome) => {
        if (!stopping()) process.stdout.write(`${outcome.name} exited (${outcome.signal ?? `code ${outcome.code}`})\n`);
        return outcome;
      }),
    ),
  );
}

async function main() {
  const { url: broker } = await ensureBroker();
  const servers = Array.from({ length: serverCount }, (_, i) => startServer(`server-${i + 1}`));
  let demo;
  let stopping = false;
  let forced = false;
  let stopped;
  const stop = (why) => {
    if (stopping) return stopped;
    stopping = true;
    process.stdout.write(`\n${why}: stopping the servers${demo ? ' and the demo' : ''}\n`);
    stopped = Promise.all([stopAll(servers), demo?.close()]);
    return stopped;
  };
  /** The end of a Ctrl-C during startup: the servers stopped, the demo closed if it had started. */
  const finishStopping = async () => {
    await Promise.all([stopped, demo?.close()]);
    return forced ? 130 : 0;
  };
  const isNew = newSignalCheck();
  const onSignal = (signal) => {
    if (!isNew(signal)) return; // the same Ctrl-C, passed on by npm
    if (!stopping) return void stop(signal);
    forced = true;
    process.stdout.write(`\n${signal} again: the servers exit now; the broker requeues what they held\n`);
    for (const { child } of running(servers)) child.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // An uncaught error, say: the servers are not to run on without this script.
  process.on('exit', () => {
    if (!stopping) for (const { child } of running(servers)) child.kill('SIGTERM');
  });

  try {
    await Promise.all(servers.map((server) => server.ready));
    demo = await startDemo();
  } catch (error) {
    // Ctrl-C during startup stops the servers, which then fail to become ready: not a failure.
    if (stopping) return finishStopping();
    await stop('startup failed');
    throw error;
  }
  if (stopping) return finishStopping(); // Ctrl-C while the demo was starting
  printBanner(broker, servers, demo);

  // Runs until Ctrl-C, or until every server has exited on its own (then the demo closes too).
  const outcomes = await untilServersExit(servers, () => stopping);
  if (!stopping) await demo.close();
  if (forced) return 130;
  return stopping ? 0 : outcomes.some((outcome) => outcome.code !== 0) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`start: ${error.message}\n`);
    process.exitCode = 1;
  },
);
