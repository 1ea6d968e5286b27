#!/usr/bin/env node
/*
 * `npm run bench:load` (issue 8): many browser-like clients at once against one broker node or a
 * cluster, each with its own connection, its own reply queue and one call in flight, for a
 * bounded time. It proves every call was answered exactly once and reports what that costs.
 *
 *   node bench/thousand-clients.mjs                     1,000 clients, 30 s, the default node
 *   node bench/thousand-clients.mjs --clients 50 --duration-ms 5000
 *   node bench/thousand-clients.mjs --urls ws://a/ws,ws://b/ws,ws://c/ws --queue-profile replicated
 *
 * Options: --clients (1000), --duration-ms (30000; calls start only within it), --servers (2
 * Fibonacci server processes, the built CLI), --prefetch (each server's, default the CLI's),
 * --presence-ms (how often each server announces itself to every client, default 2000 as the CLI),
 * --urls (comma-separated Web-STOMP URLs; default STOMP_URL or the node STOMP_RPC_NODE selects),
 * --queue-profile tutorial|replicated, --queue (rpc_queue), --client-processes (2: the clients are
 * split over this many forked Node processes, so one event loop is not the bottleneck), --n (30),
 * --idle-ms (8000: how long the clients sit idle before each memory reading), --json <file>,
 * --watch-servers (every client follows presence, as before issue 16; by default none does, as a
 * browser's client does not), --stagger-ms (0: the first calls, and the load's first calls, all at
 * once; N: each client process spreads them evenly over N ms).
 *
 *   node bench/thousand-clients.mjs --clients 10000 --stagger-ms 60000 --duration-ms 30000
 *       10,000 clients (issue 16); needs ulimit -n above 5,050 per client process and a node whose
 *       fd_total exceeds 10,100. The 10,000 first calls (each declaring a temp reply queue) are
 *       all answered only when spread out like this; at once, or over 10 s, the broker does not
 *       reach most of them within their deadline (BENCHMARKS.md, "10,000 connections").
 *
 * How a run goes, with every step bounded in time (and a hard deadline over all of it):
 *   1. Start the servers (wait for "awaiting RPC requests") and one observer client that reads
 *      their counters from presence; idle, read the broker's memory (baseline).
 *   2. The client processes open their clients in batches; each waits until it is connected (and,
 *      with --watch-servers, knows a server). Idle, then read the memory: the connections (+ their
 *      presence subscription queues when watching). Each idle window also gives the broker's
 *      deliveries per second (management API, /api/overview), which is presence and nothing else.
 *   3. One call per client (the broker creates its temp reply queue). Idle, read the memory again.
 *   4. Closed loop: every client makes one call at a time, 10 s deadline each, until the duration
 *      ends; every answer is checked against fib(n).
 *   5. Accounting: calls started = succeeded + failed + unsettled (lost); duplicate or late
 *      replies (`stats.droppedReplies`) and server requests beyond the calls sent are allowed only
 *      for requests the clients re-sent (a RECEIPT later than the client's re-send wait); the
 *      servers' counters must cover every call sent. Exit 0 when all of that holds, 1 otherwise.
 *
 * Memory: the RSS of each project-local broker node's Erlang VM from the OS (VmRSS in
 * /proc/<pid>/status, read at once, no management API), and from the management API
 * (http://127.0.0.1:<Web-STOMP port - 2>/api, guest/guest, the layout of scripts/broker.mjs's
 * nodes) `mem_used` per node (RSS; refreshed every 5 s by the stats collector, hence the idle
 * time) and the on-demand breakdown of /api/nodes/<name>/memory (it walks every Erlang process).
 * Those management reads, and the queue counts, are optional: one that does not answer within
 * OPTIONAL_TIMEOUT_MS leaves its figures "n/a" (null in the JSON) with the reason in `unavailable`.
 * The spread over the nodes (and the client count memory is divided by) comes from the clients
 * themselves, each reporting the URL it is connected to: the management API's connection list is
 * eventually consistent (each node's collector adds new connections only every 5 s, a node that
 * does not answer in time is left out, and the list is cached), so it can be off by whole nodes.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVER_DEFAULTS } from '@stomp-rpc/server';
import { cpuSeconds, exited, fibDecimal, quantile, sleep, withTimeout } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_CLI = join(root, 'packages/server/dist/cli.js');
const CALL_TIMEOUT_MS = 10_000;
/** A client that failed a call waits this long before the next, as a page would; no hot error loop. */
const ERROR_PAUSE_MS = 100;
/**
 * How long the clients may take to connect, all of them (60 s, or 10 ms a client if more; 10,000
 * took 19–25 s); the coordinator waits 20 s more.
 */
const connectBudgetMs = (clients) => Math.max(60_000, 10 * clients);
/** The management API's counters lag up to 5 s (its collection interval): wait this long before reading them. */
const STATS_SETTLE_MS = 6000;
const MANAGEMENT_TIMEOUT_MS = 60_000;
/**
 * Management reads the run can do without (the memory breakdown, the node list, the queue counts):
 * they wait this long, then the figure is "n/a" with the reason, and a read that timed out is not
 * asked again (the broker would still be working on it). At 10,000 connections one of them got no
 * answer in 60 s and used to abort the run.
 */
const OPTIONAL_TIMEOUT_MS = 20_000;
/**
 * The longest the optional reads can add to a run: each times out once, then is skipped (the
 * overview waits twice as long; nodes, memory breakdown, two queue counts, the request queue).
 */
const OPTIONAL_READS_WORST_MS = 7 * OPTIONAL_TIMEOUT_MS;
/** Clients a client process opens at once. */
const CONNECT_BATCH = 50;

const log = (line) => process.stderr.write(`bench:load: ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Client process: `node thousand-clients.mjs --client-process <config JSON>`, driven over IPC.
// The coordinator sends a step's name (connect, warm, load, close); the process answers with the
// step's result. Its state: the config, the expected answer and the clients it has opened.
// ---------------------------------------------------------------------------------------------

async function clientProcess(config) {
  const { FibonacciRpcClient } = await import('@stomp-rpc/client');
  const state = { config, FibonacciRpcClient, expected: BigInt(fibDecimal(config.n)), clients: [] };
  const rssBefore = process.memoryUsage().rss;
  const send = (message) => process.send?.(message);
  const steps = { connect: openClients, warm: warmClients, load: loadClients };
  process.on('message', async (command) => {
    if (command === 'close') {
      await closeClients(state.clients);
      send({ step: 'closed' });
      process.exit(0);
    }
    try {
      const result = await steps[command](state);
      send({ step: command, ok: true, result, rssBytes: process.memoryUsage().rss, rssBefore });
    } catch (error) {
      send({ step: command, ok: false, error: error?.stack ?? String(error) });
    }
  });
  // The coordinator went away (killed at its deadline): nothing here should outlive it.
  process.on('disconnect', () => process.exit(1));
  send({ step: 'started' });
}

/** How many of the clients are connected to each broker URL, as each client knows it (exact). */
function connectedClientsPerUrl(clients) {
  const perUrl = {};
  for (const client of clients) if (client.state === 'connected') perUrl[client.url] = (perUrl[client.url] ?? 0) + 1;
  return perUrl;
}

/**
 * A new client, and a promise that resolves once it knows a server of the queue. A default client
 * (as a browser gets) does not follow presence, so it counts as ready once connected; with
 * --watch-servers it listens to the servers' announcements (and learns them from the answers to
 * its ping on connect), as every client did before issue 16.
 */
function createClient({ config, FibonacciRpcClient }) {
  if (!config.watchServers) {
    const client = new FibonacciRpcClient({
      url: config.urls,
      queue: config.queue,
      queueDeclaration: config.queueProfile,
      timeoutMs: CALL_TIMEOUT_MS,
    });
    return { client, serverKnown: Promise.resolve() };
  }
  let knowsServer;
  const serverKnown = new Promise((resolve) => {
    knowsServer = resolve;
  });
  const client = new FibonacciRpcClient({
    url: config.urls,
    queue: config.queue,
    queueDeclaration: config.queueProfile,
    timeoutMs: CALL_TIMEOUT_MS,
    onServersChange: (servers) => {
      if (servers.some((server) => server.queue === config.queue)) knowsServer();
    },
  });
  return { client, serverKnown };
}

/** Resolves when the client is connected and knows a server; rejects with a coded error otherwise. */
async function readyWithServer({ client, serverKnown }, waitMs) {
  await client.ready(waitMs);
  await withTimeout(serverKnown, 5000, 'server discovery').catch(() => {
    throw Object.assign(new Error('no server announced itself'), { code: 'NO_SERVERS' });
  });
}

/** Opens the clients in batches; resolves with how many are connected and know a server. */
async function openClients(state) {
  const { config, clients } = state;
  const startedAt = performance.now();
  const deadline = Date.now() + config.connectBudgetMs;
  const failures = {};
  let connected = 0;
  for (let first = 0; first < config.clients && Date.now() < deadline; first += config.batch) {
    const batch = [];
    for (let i = first; i < Math.min(config.clients, first + config.batch); i++) batch.push(createClient(state));
    clients.push(...batch.map(({ client }) => client));
    const waitMs = Math.max(1000, Math.min(15_000, deadline - Date.now()));
    const outcomes = await Promise.allSettled(batch.map((entry) => readyWithServer(entry, waitMs)));
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') connected++;
      else countOne(failures, outcome.reason?.code ?? 'OTHER');
    }
  }
  return {
    connected,
    failures,
    connectMs: performance.now() - startedAt,
    clientsPerUrl: connectedClientsPerUrl(clients),
  };
}

/** One call per client, so each connection has its temp reply queue. */
async function warmClients({ config, clients, expected }) {
  const latencies = [];
  const outcomes = await Promise.allSettled(
    clients.map(async (client, i) => {
      await staggered(config, i, clients.length);
      const startedAt = performance.now();
      try {
        return await client.call(config.n);
      } finally {
        latencies.push(performance.now() - startedAt);
      }
    }),
  );
  const failures = {};
  let ok = 0;
  outcomes.forEach((outcome) => {
    if (outcome.status === 'fulfilled' && outcome.value === expected) ok++;
    else countOne(failures, outcome.status === 'fulfilled' ? 'WRONG_ANSWER' : (outcome.reason?.code ?? 'OTHER'));
  });
  return { ok, failures, latencies, clientsPerUrl: connectedClientsPerUrl(clients) };
}

/** Client `i` of `count` waits its share of --stagger-ms, so their first calls are spread evenly. */
async function staggered(config, i, count) {
  if (config.staggerMs > 0) await sleep((i * config.staggerMs) / count);
}

/** Every client: one call at a time until the duration ends. */
async function loadClients(state) {
  const { config, clients } = state;
  const tally = { latencies: [], errors: {}, started: 0, succeeded: 0, wrong: 0, lastSettledAt: 0 };
  const startedAt = performance.now();
  const endAt = startedAt + config.durationMs;
  // Every call has a 10 s deadline, so the loops end by endAt + 10 s (or, when the stagger outlasts
  // the duration, by the last client's start, which is then too late to call); later is a lost call.
  const loops = Promise.all(
    clients.map(async (client, i) => {
      await staggered(config, i, clients.length);
      await callUntil(client, endAt, state, tally);
    }),
  );
  const finished = await Promise.race([
    loops.then(() => true),
    sleep(Math.max(config.durationMs + CALL_TIMEOUT_MS, config.staggerMs) + 5000).then(() => false),
  ]);
  // Until the last call ended: clients whose stagger outlasts the load wake up to make no call.
  const seconds = ((finished ? Math.max(tally.lastSettledAt, startedAt) : performance.now()) - startedAt) / 1000;
  const { latencies, errors, started, succeeded, wrong } = tally;
  const unsettled = started - succeeded - wrong - sum(Object.values(errors));
  return { finished, seconds, started, succeeded, wrong, errors, unsettled, latencies, ...clientStatsTotals(clients) };
}

/** One client's closed loop: a call, its answer checked, the next, until `endAt`. */
async function callUntil(client, endAt, { config, expected }, tally) {
  while (performance.now() < endAt) {
    tally.started++;
    const callStartedAt = performance.now();
    try {
      const value = await client.call(config.n, { timeoutMs: CALL_TIMEOUT_MS });
      tally.latencies.push(performance.now() - callStartedAt);
      if (value === expected) tally.succeeded++;
      else tally.wrong++;
    } catch (error) {
      countOne(tally.errors, error?.code ?? 'OTHER');
      await sleep(ERROR_PAUSE_MS);
    } finally {
      tally.lastSettledAt = Math.max(tally.lastSettledAt, performance.now());
    }
  }
}

/** What the clients counted themselves (including the warm-up call). */
function clientStatsTotals(clients) {
  const perClient = clients.map((client) => client.stats);
  const total = (field) => sum(perClient.map((stats) => stats[field]));
  return {
    clientCalls: total('calls'),
    clientSucceeded: total('succeeded'),
    droppedReplies: total('droppedReplies'),
    clientsWithDroppedReplies: perClient.filter((stats) => stats.droppedReplies > 0).length,
    resent: total('resent'),
    reconnects: total('reconnects'),
  };
}

async function closeClients(clients) {
  await Promise.allSettled(clients.map((client) => withTimeout(client.close(), 5000, 'close')));
}

// ---------------------------------------------------------------------------------------------
// Coordinator.
// ---------------------------------------------------------------------------------------------

function readOptions() {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '1000' },
      'duration-ms': { type: 'string', default: '30000' },
      servers: { type: 'string', default: '2' },
      prefetch: { type: 'string', default: String(SERVER_DEFAULTS.prefetch) },
      'presence-ms': { type: 'string', default: '2000' },
      urls: { type: 'string' },
      'queue-profile': { type: 'string', default: 'tutorial' },
      queue: { type: 'string', default: 'rpc_queue' },
      'client-processes': { type: 'string', default: '2' },
      'watch-servers': { type: 'boolean', default: false },
      'idle-ms': { type: 'string', default: '8000' },
      'stagger-ms': { type: 'string', default: '0' },
      json: { type: 'string' },
      n: { type: 'string', default: '30' },
    },
    strict: true,
  });
  const whole = (name, min, max) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, got ${values[name]}`);
    }
    return value;
  };
  if (!['tutorial', 'replicated'].includes(values['queue-profile'])) {
    throw new Error('--queue-profile must be tutorial or replicated');
  }
  const urlText = values.urls ?? process.env.STOMP_URL ?? defaultUrl();
  return {
    clients: whole('clients', 1, 20_000),
    durationMs: whole('duration-ms', 100, 600_000),
    servers: whole('servers', 1, 32),
    prefetch: whole('prefetch', 1, 10_000),
    presenceMs: whole('presence-ms', 100, 60_000),
    clientProcesses: whole('client-processes', 1, 64),
    watchServers: values['watch-servers'],
    idleMs: whole('idle-ms', 0, 60_000),
    staggerMs: whole('stagger-ms', 0, 60_000),
    n: whole('n', 0, 100_000),
    urls: urlText
      .split(',')
      .map((url) => url.trim())
      .filter(Boolean),
    queueProfile: values['queue-profile'],
    queue: values.queue,
    json: values.json,
  };
}

/** The Web-STOMP URL of the node STOMP_RPC_NODE selects (scripts/broker.mjs's port layout). */
function defaultUrl() {
  const node = Number(process.env.STOMP_RPC_NODE || 0);
  return `ws://127.0.0.1:${15674 + 100 * node}/ws`;
}

/** Management API base of the node behind a Web-STOMP URL: same host, port - 2 (scripts/broker.mjs). */
function managementBase(url) {
  const { hostname, port } = new URL(url);
  return `http://${hostname}:${Number(port) - 2}/api`;
}

/**
 * GET from the management API. With 10,000 connections its answers took more than 10 s (the node
 * busy, the stats database large), hence the long timeout; slow answers are logged.
 */
async function management(base, path, timeoutMs = MANAGEMENT_TIMEOUT_MS) {
  const startedAt = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await fetch(`${base}${path}`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    signal,
  }).catch((error) => {
    const why = signal.aborted ? `no answer within ${timeoutMs / 1000} s` : (error.cause?.code ?? error.message);
    throw new Error(`the management API at ${base} does not answer ${path.split('?')[0]} (${why})`);
  });
  if (!response.ok) throw new Error(`GET ${base}${path}: HTTP ${response.status}`);
  const body = await response.json();
  const ms = performance.now() - startedAt;
  if (ms > 5000) log(`the management API took ${fixed(ms / 1000)} s for ${path.split('?')[0]}`);
  return body;
}

/**
 * An optional management read (`what` names it): its result, or undefined with the reason kept in
 * `run.unavailable["<phase> <what>"]`. One that timed out is not asked again in this run.
 */
async function optionalRead(run, what, read) {
  const key = `${run.phase} ${what}`;
  const skip = run.skipReads.get(what);
  if (skip !== undefined) {
    run.unavailable[key] = `skipped: ${skip}`;
    return undefined;
  }
  try {
    return await read();
  } catch (error) {
    log(`${key}: n/a, ${error.message}`);
    run.unavailable[key] = error.message;
    if (/no answer within/.test(error.message)) run.skipReads.set(what, error.message);
    return undefined;
  }
}

/** Resident memory (VmRSS) of the broker processes from the OS, per pid, in bytes; undefined when unreadable. */
function brokerRss(pids) {
  const byPid = {};
  for (const pid of pids) {
    try {
      const kB = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kB === undefined) return undefined;
      byPid[pid] = Number(kB) * 1024;
    } catch {
      return undefined;
    }
  }
  return pids.length > 0 ? { byPid, total: sum(Object.values(byPid)) } : undefined;
}

/**
 * Memory of every node of the broker (a cluster answers for all its nodes from any of them): the
 * OS's RSS of the local nodes (`os`), and per node what the management API gives, when it answers.
 */
async function brokerMemory(run) {
  const nodes = new Map();
  const os = brokerRss(run.brokerPids);
  if (os === undefined) {
    run.unavailable[`${run.phase} osRss`] = 'no project-local broker process behind the URLs (or /proc unreadable)';
  }
  for (const base of run.bases) {
    const list = await optionalRead(run, 'nodes', () => management(base, '/nodes', OPTIONAL_TIMEOUT_MS));
    for (const node of list ?? []) {
      if (nodes.has(node.name) || !node.running) continue;
      const path = `/nodes/${encodeURIComponent(node.name)}/memory`;
      const breakdown = await optionalRead(run, 'memoryBreakdown', () => management(base, path, OPTIONAL_TIMEOUT_MS));
      const memory = breakdown?.memory;
      nodes.set(node.name, {
        memUsed: node.mem_used,
        erlang: memory?.total.erlang,
        connections: memory && memory.connection_readers + memory.connection_writers + memory.connection_other,
        queues: memory && memory.queue_procs + memory.queue_slave_procs + memory.quorum_queue_procs,
        binary: memory?.binary,
        fdTotal: node.fd_total,
        fdUsed: node.fd_used,
        socketsTotal: node.sockets_total,
      });
    }
  }
  return { os, nodes: Object.fromEntries(nodes) };
}

/**
 * The queues the clients own: a cross-check of one (two when watching) per client. Counted by the
 * management API's paged listing filtered by name (`filtered_count` of a one-item page), so it
 * does not send every queue; the overview's queue total is kept beside it.
 */
async function brokerQueues(run, base, objectTotals) {
  const count = (what, pattern) =>
    optionalRead(run, what, async () => {
      const query = `page=1&page_size=1&columns=name&use_regex=true&name=${encodeURIComponent(pattern)}`;
      const page = await management(base, `/queues?${query}`, OPTIONAL_TIMEOUT_MS);
      if (!Number.isInteger(page.filtered_count)) throw new Error('/queues: no filtered_count in the paged answer');
      return page.filtered_count;
    });
  return {
    tempQueues: await count('tempQueueCount', '^amq\\.gen-'),
    subscriptionQueues: await count('subscriptionQueueCount', '^stomp-subscription-'),
    allQueues: objectTotals?.queues,
    connections: objectTotals?.connections,
  };
}

/** Broker process ids of the project-local nodes behind the URLs (for their CPU time), by port. */
async function brokerPids(urls) {
  const { measuredBrokerPid, nodeProfile } = await import('../scripts/broker.mjs');
  const pids = [];
  for (const url of urls) {
    const offset = Number(new URL(url).port) - 15674;
    if (offset % 100 !== 0 || offset < 0 || offset > 900) continue;
    // The project's node only at its own URL: another host on the same port is not it.
    const pid = measuredBrokerPid(url, nodeProfile(offset / 100));
    if (pid !== undefined) pids.push(pid);
  }
  return pids;
}

function fileDescriptorLimit() {
  const result = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  return result.stdout.trim();
}

async function startServer(options, children) {
  const child = spawn(
    process.execPath,
    [
      SERVER_CLI,
      '--url',
      options.urls.join(','),
      '--queue',
      options.queue,
      '--queue-profile',
      options.queueProfile,
      '--prefetch',
      String(options.prefetch),
      '--presence-ms',
      String(options.presenceMs),
      // info: the ready line ("awaiting RPC requests") is logged at info; nothing is logged per request.
      '--log-level',
      'info',
    ],
    // An IPC channel: if this process is killed, it closes, and the server stops itself (cli.ts).
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  children.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => {
    output = (output + chunk).slice(-8000);
  });
  await withTimeout(
    new Promise((resolve, reject) => {
      const check = () => output.includes('awaiting RPC requests') && resolve();
      child.stdout.on('data', check);
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
    }),
    30_000,
    'server start',
  );
  return { child, output: () => output };
}

/** What the servers said about their connections (warnings and errors only), to tell why a run failed. */
function logServerWarnings(servers) {
  for (const [i, server] of servers.entries()) {
    const lines = server
      .output()
      .split('\n')
      .filter((line) => /"level":"(warn|error|fatal)"/.test(line));
    if (lines.length > 0) log(`server ${i + 1}, its last warnings:\n  ${lines.slice(-8).join('\n  ')}`);
  }
}

/** Forks a client process; `step(name, ms)` runs one step in it and resolves with its report. */
function startClientProcess(config, children) {
  const child = fork(fileURLToPath(import.meta.url), ['--client-process', JSON.stringify(config)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const reports = [];
  const waiters = [];
  child.on('message', (message) => {
    const waiter = waiters.findIndex((w) => w.step === message.step);
    if (waiter >= 0) waiters.splice(waiter, 1)[0].resolve(message);
    else reports.push(message);
  });
  const next = (step, ms) => {
    const queued = reports.findIndex((message) => message.step === step);
    if (queued >= 0) return Promise.resolve(reports.splice(queued, 1)[0]);
    return withTimeout(
      new Promise((resolve, reject) => {
        waiters.push({ step, resolve });
        child.once('exit', (code) => reject(new Error(`client process exited with ${code} during ${step}`)));
      }),
      ms,
      `client process ${step}`,
    );
  };
  return {
    child,
    started: () => next('started', 15_000),
    step: async (step, ms) => {
      child.send(step);
      const report = await next(step, ms);
      if (!report.ok) throw new Error(`client process ${step} failed: ${report.error}`);
      return report;
    },
    close: async () => {
      if (child.connected) child.send('close');
      await exited(child, 15_000);
    },
  };
}

const sum = (values) => values.reduce((a, b) => a + b, 0);
function addCounts(target, counts) {
  for (const [code, count] of Object.entries(counts)) target[code] = (target[code] ?? 0) + count;
  return target;
}
/** Counts one more of `code` (an error code, mostly). */
function countOne(counts, code) {
  counts[code] = (counts[code] ?? 0) + 1;
}
const KiB = (bytes) => bytes / 1024;
const fixed = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/**
 * Sum over nodes of one memory field; the difference `after - before` per client, in KiB. NaN
 * (null in the JSON, "n/a" printed) when a reading lacks it (the management API did not answer).
 */
function perClientKiB(before, after, field, clients) {
  const total = (reading) => {
    const nodes = Object.values(reading.nodes);
    if (nodes.length === 0 || nodes.some((node) => node[field] === undefined)) return Number.NaN;
    return sum(nodes.map((node) => node[field]));
  };
  return KiB((total(after) - total(before)) / clients);
}

/** The OS's RSS of the broker processes, `after - before` per client, in KiB (NaN when unread). */
function osRssPerClientKiB(before, after, clients) {
  return KiB(((after.os?.total ?? Number.NaN) - (before.os?.total ?? Number.NaN)) / clients);
}

/*
 * The coordinator's run, phase by phase (the numbers of the header). `run` holds what the phases
 * share: the options, the processes started (to kill them on failure), the problems found, the
 * report being built, and what each phase measured (`readings` of the broker, `connect`, `warm`,
 * `load`, `accounting`).
 */
async function main() {
  let options;
  try {
    options = readOptions();
  } catch (error) {
    log(error.message);
    return 2;
  }
  const children = new Set();
  armHardDeadline(options, children);
  const run = newRun(options, children);
  try {
    const { FibonacciRpcClient } = await import('@stomp-rpc/client');
    await describeBroker(run);
    checkClientFileDescriptors(run);

    // 1. Servers, an observer for their counters, the baseline.
    await startServers(run);
    await startObserver(run, FibonacciRpcClient);
    await countRequestsBefore(run);
    run.brokerPids = await brokerPids(options.urls);
    run.readings.baseline = await readBrokerAfterIdle(run, 'baseline');
    checkBrokerFileDescriptors(run);

    // 2. Connect.
    await startClientProcesses(run);
    await connectPhase(run);
    run.readings.connected = await readBrokerAfterIdle(run, 'connected');

    // 3. One call each: the temp reply queues.
    await warmPhase(run);
    run.readings.afterFirstCall = await readBrokerAfterIdle(run, 'afterFirstCall');
    run.memory = memoryPerClient(run);
    logMemoryPerClient(run.memory);

    // 4. The load; 5. accounting.
    await loadPhase(run);
    await accountingPhase(run);
    checkAccounting(run);

    completeReport(run);
    printReport(run.report);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(run.report, null, 2)}\n`);
    await tearDown(run);
  } catch (error) {
    log(`FAILED: ${error.message}`);
    for (const child of children) child.kill('SIGKILL');
    await run.observer?.close().catch(() => {});
    return 1;
  }
  if (run.problems.length > 0) {
    log(`FAILED:\n  ${run.problems.join('\n  ')}`);
    logServerWarnings(run.servers);
    return 1;
  }
  log('every call answered exactly once');
  return 0;
}

/**
 * Hard deadline over the whole run: servers, connecting, three idle windows, the load, the
 * accounting. main() ends with process.exit, so this timer never holds a finished run.
 */
function armHardDeadline(options, children) {
  const hardDeadlineMs =
    options.durationMs +
    3 * (options.idleMs + STATS_SETTLE_MS) +
    connectBudgetMs(options.clients) +
    2 * options.staggerMs +
    OPTIONAL_READS_WORST_MS +
    180_000;
  setTimeout(() => {
    log(`FAILED: the run passed its hard deadline of ${hardDeadlineMs} ms; killing its processes`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  }, hardDeadlineMs);
}

/** The state the phases share, with the report's first part: the options and the machine. */
function newRun(options, children) {
  const bases = [...new Set(options.urls.map(managementBase))];
  const report = {
    startedAt: new Date().toISOString(),
    options: { ...options, json: undefined },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
      fileDescriptorLimit: fileDescriptorLimit(),
    },
  };
  return {
    options,
    children,
    bases,
    problems: [],
    report,
    observer: undefined,
    servers: [],
    readings: {},
    phase: 'start',
    brokerPids: [],
    // What could not be measured and why (optional management reads), and the reads not to repeat.
    unavailable: {},
    skipReads: new Map(),
  };
}

async function describeBroker({ options, bases, report }) {
  const overview = await management(bases[0], '/overview');
  report.broker = { version: overview.rabbitmq_version, urls: options.urls };
  log(
    `RabbitMQ ${overview.rabbitmq_version} at ${options.urls.join(', ')}; load average ${report.machine.loadAverageAtStart.join(' ')}`,
  );
}

/** Each client process holds a socket per client: this machine's limit must allow that. */
function checkClientFileDescriptors({ options, report, problems }) {
  const perProcess = Math.ceil(options.clients / options.clientProcesses) + 50;
  if (Number(report.machine.fileDescriptorLimit) < perProcess) {
    problems.push(
      `ulimit -n is ${report.machine.fileDescriptorLimit}, below the ${perProcess} sockets a client process needs`,
    );
  }
}

/** The Fibonacci servers, one after another, each ready before the next starts. */
async function startServers(run) {
  const { options, children } = run;
  for (let i = 0; i < options.servers; i++) run.servers.push(await startServer(options, children));
  run.serverPids = new Set(run.servers.map((server) => server.child.pid));
  log(`${run.servers.length} server(s) ready (prefetch ${options.prefetch}, ${options.queueProfile} profile)`);
}

/** A client of our own that reads the servers' counters from their presence announcements. */
async function startObserver(run, FibonacciRpcClient) {
  const { options } = run;
  // Kept in `run` before it is ready, so a failure closes it.
  run.observer = new FibonacciRpcClient({
    url: options.urls,
    queue: options.queue,
    queueDeclaration: options.queueProfile,
  });
  await run.observer.ready(10_000);
}

/** The servers this run started that answer a presence ping (other servers may share the queue). */
async function ourServers({ observer, options, serverPids }) {
  return (await observer.discoverServers(1500, options.queue)).filter((server) => serverPids.has(server.pid));
}

/** The servers' request counters before the clients start: the accounting counts from here. */
async function countRequestsBefore(run) {
  const known = await ourServers(run);
  if (known.length !== run.servers.length)
    run.problems.push(`only ${known.length} of ${run.servers.length} servers announced themselves`);
  run.requestsBefore = sum(known.map((server) => server.stats.requests));
}

/**
 * The broker's memory and queues, and its deliveries and publishes per second while idle: the
 * counters are read after STATS_SETTLE_MS (so the last phase's work is counted) and again after
 * `idleMs` of quiet; the OS's RSS and mem_used (also from the stats collector) are read then too.
 */
async function readBrokerAfterIdle(run, phase) {
  const { options, bases } = run;
  run.phase = phase;
  await sleep(STATS_SETTLE_MS);
  const before = await messageCounters(run, bases[0]);
  await sleep(options.idleMs);
  const after = await messageCounters(run, bases[0]);
  const seconds = (after?.at - before?.at) / 1000;
  const idle = {
    deliveriesPerSecond: (after?.deliverGet - before?.deliverGet) / seconds,
    publishesPerSecond: (after?.publish - before?.publish) / seconds,
  };
  const memory = await brokerMemory(run);
  const queues = await brokerQueues(run, bases[0], after?.objectTotals);
  return { memory, queues, idle };
}

/**
 * The broker's message counters (all nodes, all queues): deliveries to consumers and publishes,
 * the object totals, and the deliveries from the request queue alone (requests taken by the
 * servers); undefined (and the reason in `run.unavailable`) when the management API is silent.
 */
async function messageCounters(run, base, queue) {
  const overview = await optionalRead(run, 'overview', () => management(base, '/overview', 2 * OPTIONAL_TIMEOUT_MS));
  if (overview === undefined) return undefined;
  const counters = {
    at: Date.now(),
    deliverGet: overview.message_stats?.deliver_get ?? 0,
    publish: overview.message_stats?.publish ?? 0,
    objectTotals: overview.object_totals,
  };
  if (queue !== undefined) {
    const path = `/queues/%2F/${encodeURIComponent(queue)}`;
    const stats = await optionalRead(run, 'requestQueue', () => management(base, path, OPTIONAL_TIMEOUT_MS));
    counters.requestDeliveries = stats === undefined ? undefined : (stats.message_stats?.deliver_get ?? 0);
  }
  return counters;
}

/** Every broker node must allow a file descriptor per client; the report records the limits. */
function checkBrokerFileDescriptors({ options, readings, report, problems }) {
  const memory = readings.baseline.memory.nodes;
  for (const [name, node] of Object.entries(memory)) {
    if (node.fdTotal !== undefined && node.fdTotal < options.clients + 100) {
      problems.push(`${name} allows ${node.fdTotal} file descriptors, too few for ${options.clients} clients`);
    }
  }
  report.broker.fileDescriptors = Object.fromEntries(
    Object.entries(memory).map(([name, node]) => [name, { total: node.fdTotal, socketsTotal: node.socketsTotal }]),
  );
}

/** Forks the client processes, the clients shared out evenly, and waits until each is up. */
async function startClientProcesses(run) {
  const { options, children } = run;
  const shares = Array.from(
    { length: options.clientProcesses },
    (_, i) =>
      Math.floor(options.clients / options.clientProcesses) + (i < options.clients % options.clientProcesses ? 1 : 0),
  ).filter((share) => share > 0);
  run.processes = shares.map((clients) =>
    startClientProcess(
      {
        clients,
        urls: options.urls,
        queue: options.queue,
        queueProfile: options.queueProfile,
        n: options.n,
        durationMs: options.durationMs,
        batch: CONNECT_BATCH,
        connectBudgetMs: connectBudgetMs(options.clients),
        watchServers: options.watchServers,
        staggerMs: options.staggerMs,
      },
      children,
    ),
  );
  await Promise.all(run.processes.map((p) => p.started()));
}

async function connectPhase(run) {
  const { options, processes, problems } = run;
  log(`connecting ${options.clients} clients from ${processes.length} process(es)`);
  const reports = await Promise.all(processes.map((p) => p.step('connect', connectBudgetMs(options.clients) + 20_000)));
  const connected = sum(reports.map((r) => r.result.connected));
  const connectFailures = reports.reduce((all, r) => addCounts(all, r.result.failures), {});
  const connectMs = Math.max(...reports.map((r) => r.result.connectMs));
  log(
    `${connected} of ${options.clients} clients connected${options.watchServers ? ' and know a server' : ''} in ${fixed(connectMs / 1000)} s`,
  );
  if (connected !== options.clients) {
    problems.push(`${options.clients - connected} clients did not connect: ${JSON.stringify(connectFailures)}`);
  }
  const clientsPerUrl = reports.reduce((all, r) => addCounts(all, r.result.clientsPerUrl), {});
  run.connect = { connected, connectFailures, connectMs, clientsPerUrl };
}

async function warmPhase(run) {
  const { options, processes, problems } = run;
  const reports = await Promise.all(processes.map((p) => p.step('warm', options.staggerMs + CALL_TIMEOUT_MS + 20_000)));
  const ok = sum(reports.map((r) => r.result.ok));
  const failures = reports.reduce((all, r) => addCounts(all, r.result.failures), {});
  if (ok !== options.clients) problems.push(`first calls: ${options.clients - ok} failed ${JSON.stringify(failures)}`);
  run.warm = {
    ok,
    failures,
    // Every first call's time to its outcome, answered or failed: how close the storm comes to CALL_TIMEOUT_MS.
    latencies: reports.flatMap((r) => r.result.latencies).sort((a, b) => a - b),
    clientsPerUrl: reports.reduce((all, r) => addCounts(all, r.result.clientsPerUrl), {}),
    rssPerClientKiB: sum(reports.map((r) => r.rssBytes - r.rssBefore)) / 1024 / options.clients,
  };
}

/** The memory readings and what each client costs, from the differences between them. */
function memoryPerClient({ readings, connect, warm }) {
  const baseline = readings.baseline.memory;
  const connected = readings.connected.memory;
  const afterFirstCall = readings.afterFirstCall.memory;
  // Per client = per client connection open at the reading (knowing a server or not); none: NaN.
  const open = (clientsPerUrl) => sum(Object.values(clientsPerUrl)) || Number.NaN;
  const connectedClients = open(connect.clientsPerUrl);
  const clientConnections = open(warm.clientsPerUrl);
  return {
    baseline,
    connected,
    afterFirstCall,
    perClientKiB: {
      // The broker's RSS from the OS (/proc/<pid>/status VmRSS): read at once, no management API.
      osRssConnected: osRssPerClientKiB(baseline, connected, connectedClients),
      osRssAfterFirstCall: osRssPerClientKiB(baseline, afterFirstCall, clientConnections),
      memUsedConnected: perClientKiB(baseline, connected, 'memUsed', connectedClients),
      memUsedAfterFirstCall: perClientKiB(baseline, afterFirstCall, 'memUsed', clientConnections),
      erlangConnected: perClientKiB(baseline, connected, 'erlang', connectedClients),
      erlangAfterFirstCall: perClientKiB(baseline, afterFirstCall, 'erlang', clientConnections),
      connectionProcesses: perClientKiB(baseline, afterFirstCall, 'connections', clientConnections),
      queueProcesses: perClientKiB(baseline, afterFirstCall, 'queues', clientConnections),
      tempQueueAlone: perClientKiB(connected, afterFirstCall, 'erlang', clientConnections),
    },
    clientRssPerClientKiB: warm.rssPerClientKiB,
  };
}

function logMemoryPerClient(memory) {
  log(
    `broker memory per client: ${fixed(memory.perClientKiB.osRssAfterFirstCall)} KiB RSS (OS), ` +
      `${fixed(memory.perClientKiB.memUsedAfterFirstCall)} KiB mem_used, ` +
      `${fixed(memory.perClientKiB.erlangAfterFirstCall)} KiB Erlang; client RSS ${fixed(memory.clientRssPerClientKiB)} KiB`,
  );
}

/** CPU seconds used so far by each role's processes. */
function cpuSecondsByRole(pidsByRole) {
  return Object.fromEntries(
    // No pid known (a broker elsewhere): n/a, not 0.
    Object.entries(pidsByRole).map(([role, pids]) => [
      role,
      pids.length === 0 ? Number.NaN : sum(pids.map((pid) => cpuSeconds(pid) ?? Number.NaN)),
    ]),
  );
}

/** The closed loop in every client process, with the CPU each role used meanwhile. */
async function loadPhase(run) {
  const { options, processes } = run;
  const cpuPids = {
    broker: run.brokerPids,
    servers: [...run.serverPids],
    clients: processes.map((p) => p.child.pid),
  };
  log(`load: every client one call at a time for ${options.durationMs} ms`);
  run.phase = 'load';
  const countersBefore = await messageCounters(run, run.bases[0], options.queue);
  const cpuBefore = cpuSecondsByRole(cpuPids);
  const startedAt = performance.now();
  const reports = await Promise.all(
    processes.map((p) => p.step('load', options.durationMs + CALL_TIMEOUT_MS + 30_000)),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  const cpuAfter = cpuSecondsByRole(cpuPids);
  const loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));
  // Deliveries over the load: requests (from the request queue), as many replies, and the rest:
  // presence (pings, their answers, beats to watching clients). The counters lag up to 5 s, so
  // they are read once the load's last seconds are counted; the window is that much longer.
  await sleep(STATS_SETTLE_MS);
  const countersAfter = await messageCounters(run, run.bases[0], options.queue);
  // NaN (null in the JSON) when the management API did not answer one of the reads.
  const requestDeliveries = countersAfter?.requestDeliveries - countersBefore?.requestDeliveries;
  const deliveries = countersAfter?.deliverGet - countersBefore?.deliverGet;
  run.load = {
    deliveries: {
      total: deliveries,
      requests: requestDeliveries,
      presencePerSecond: Math.max(0, deliveries - 2 * requestDeliveries) / seconds,
    },
    results: reports.map((r) => r.result),
    cpuCoresBusy: Object.fromEntries(
      Object.keys(cpuAfter).map((role) => [role, (cpuAfter[role] - cpuBefore[role]) / seconds]),
    ),
    loadAverageAfter,
  };
}

/** The client processes' load results added up. */
function totalLoadResults(results) {
  const total = (field) => sum(results.map((r) => r[field]));
  return {
    latencies: results.flatMap((r) => r.latencies).sort((a, b) => a - b),
    started: total('started'),
    succeeded: total('succeeded'),
    wrong: total('wrong'),
    unsettled: total('unsettled'),
    errors: results.reduce((all, r) => addCounts(all, r.errors), {}),
    droppedReplies: total('droppedReplies'),
    clientCalls: total('clientCalls'),
    clientSucceeded: total('clientSucceeded'),
    resent: total('resent'),
    reconnects: total('reconnects'),
    seconds: Math.max(...results.map((r) => r.seconds)),
    allFinished: results.every((r) => r.finished),
  };
}

/** The load's totals, and what the servers say they served against what the clients sent. */
async function accountingPhase(run) {
  const totals = totalLoadResults(run.load.results);
  // Give the servers' counters a moment to include the last replies, then ask for them.
  await sleep(500);
  const finalServers = await ourServers(run);
  const requestsServed = sum(finalServers.map((server) => server.stats.requests)) - run.requestsBefore;
  const { warm } = run;
  const callsSent = warm.ok + sum(Object.values(warm.failures)) + totals.started - (totals.errors.NO_SERVERS ?? 0);
  run.accounting = { totals, finalServers, requestsServed, callsSent };
}

/** Every call answered exactly once, and everyone's counts agree; anything else is a problem. */
function checkAccounting({ options, servers, warm, accounting, problems }) {
  const { totals, finalServers, requestsServed, callsSent } = accounting;
  const { started, succeeded, wrong, unsettled, errors, droppedReplies, resent } = totals;
  if (finalServers.length !== servers.length)
    problems.push(`only ${finalServers.length} servers answered the final ping`);
  if (!totals.allFinished || unsettled > 0) problems.push(`${unsettled} calls never settled (lost)`);
  if (Object.keys(errors).length > 0) problems.push(`calls failed: ${JSON.stringify(errors)}`);
  if (wrong > 0) problems.push(`${wrong} calls got a wrong answer`);
  // A re-sent request (its RECEIPT was late, or its connection went) may be answered twice, and a
  // call that failed at its deadline may be answered late; the caller still gets one outcome. Any
  // other dropped reply is a bug. (Failed calls are a problem of their own, above.)
  const failed = sum(Object.values(errors)) + (options.clients - warm.ok);
  if (droppedReplies > resent + failed) {
    problems.push(
      `${droppedReplies} duplicate or late replies (droppedReplies) for ${resent} re-sent requests and ${failed} failed calls`,
    );
  }
  const { clientCalls, clientSucceeded } = totals;
  if (clientCalls !== started + options.clients || clientSucceeded !== succeeded + wrong + warm.ok) {
    problems.push(
      `the clients counted ${clientCalls} calls (${clientSucceeded} answered), the loops ${started} ` +
        `(${succeeded + wrong} answered) + ${options.clients} first calls (${warm.ok} answered)`,
    );
  }
  // A failed call's request may have expired in the queue (it carries its deadline as its TTL).
  if (requestsServed < callsSent - failed || requestsServed > callsSent + resent) {
    problems.push(
      `the servers took ${requestsServed} requests for ${callsSent} calls sent (${resent} re-sent, ${failed} failed)`,
    );
  }
}

/** Quantiles of sorted call times in ms. */
function latencySummary(sorted) {
  return {
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1),
  };
}

/** The report's `load` section (BENCHMARKS.md describes it). */
function loadSection({ options, warm, load, accounting }) {
  const { totals, finalServers, requestsServed, callsSent } = accounting;
  const { latencies } = totals;
  return {
    durationMs: options.durationMs,
    seconds: totals.seconds,
    calls: totals.started,
    succeeded: totals.succeeded,
    wrong: totals.wrong,
    unsettled: totals.unsettled,
    errors: totals.errors,
    callsPerSecond: totals.succeeded / totals.seconds,
    latencyMs: latencySummary(latencies),
    droppedReplies: totals.droppedReplies,
    resent: totals.resent,
    reconnects: totals.reconnects,
    firstCalls: { ok: warm.ok, failures: warm.failures, latencyMs: latencySummary(warm.latencies) },
    callsSent,
    requestsServed,
    servers: finalServers.map((server) => ({
      pid: server.pid,
      requests: server.stats.requests,
      errors: server.stats.errors,
    })),
    deliveries: load.deliveries,
    cpuCoresBusy: load.cpuCoresBusy,
    loadAverageAfter: load.loadAverageAfter,
  };
}

/** Adds what the run measured to the report (the cluster test reads ok, problems, clients, spread, load). */
function completeReport(run) {
  const { options, connect, warm, readings, problems } = run;
  Object.assign(run.report, {
    clients: {
      requested: options.clients,
      connected: connect.connected,
      connectFailures: connect.connectFailures,
      connectSeconds: connect.connectMs / 1000,
    },
    queuesPerClient: options.watchServers
      ? 'one temp reply queue (amq.gen-..., after the first call) and one presence subscription queue (stomp-subscription-...)'
      : 'one temp reply queue (amq.gen-..., after the first call)',
    // Deliveries and publishes per second with nothing going on but presence (and heart-beats).
    idle: {
      baseline: readings.baseline.idle,
      connected: readings.connected.idle,
      afterFirstCall: readings.afterFirstCall.idle,
    },
    // Counted by the clients (exact); the queues as the management API lists them (a cross-check).
    spread: { clientsPerUrl: { connected: connect.clientsPerUrl, afterFirstCall: warm.clientsPerUrl } },
    queues: {
      baseline: readings.baseline.queues,
      connected: readings.connected.queues,
      afterFirstCall: readings.afterFirstCall.queues,
    },
    memory: run.memory,
    load: loadSection(run),
    // Figures left n/a (null) and why: management reads that did not answer in time.
    unavailable: run.unavailable,
    problems,
    ok: problems.length === 0,
  });
}

/** Clients, observer, servers, each bounded in time. */
async function tearDown({ processes, observer, servers }) {
  await Promise.all(processes.map((p) => p.close()));
  await withTimeout(observer.close(), 5000, 'observer close').catch(() => {});
  for (const server of servers) server.child.kill('SIGTERM');
  await Promise.all(servers.map((server) => exited(server.child, 15_000)));
}

const latencyText = ({ p50, p99, max }) => `${fixed(p50, 2)} / ${fixed(p99, 2)} / ${fixed(max, 2)}`;

function printReport(report) {
  const { clients, load, memory, queues, spread } = report;
  const per = memory.perClientKiB;
  const rows = [
    ['clients connected', `${clients.connected} of ${clients.requested} in ${fixed(clients.connectSeconds)} s`],
    ['clients per URL', JSON.stringify(spread.clientsPerUrl.afterFirstCall)],
    [
      'queues',
      `${queues.afterFirstCall.tempQueues ?? 'n/a'} temp reply + ${queues.afterFirstCall.subscriptionQueues ?? 'n/a'} ` +
        `presence subscription (${queues.afterFirstCall.allQueues ?? 'n/a'} in all)`,
    ],
    [
      'calls',
      `${load.calls} in ${fixed(load.seconds)} s: ${load.succeeded} ok, errors ${JSON.stringify(load.errors)}, lost ${load.unsettled}`,
    ],
    ['calls/s', fixed(load.callsPerSecond, 0)],
    [
      'broker deliveries/s idle (connected / after a call)',
      `${fixed(report.idle.connected.deliveriesPerSecond)} / ${fixed(report.idle.afterFirstCall.deliveriesPerSecond)}`,
    ],
    [
      'presence deliveries/s under load',
      `${fixed(load.deliveries.presencePerSecond)} (${load.deliveries.total} deliveries, ${load.deliveries.requests} requests)`,
    ],
    ['first calls: latency p50 / p99 / max ms', latencyText(load.firstCalls.latencyMs)],
    ['latency p50 / p99 / max ms', latencyText(load.latencyMs)],
    ['duplicate/late replies', `${load.droppedReplies} (requests re-sent: ${load.resent})`],
    ['servers took / calls sent', `${load.requestsServed} / ${load.callsSent}`],
    [
      'broker RSS (OS) per client',
      `${fixed(per.osRssConnected)} KiB connected, ${fixed(per.osRssAfterFirstCall)} KiB after first call`,
    ],
    [
      'broker mem_used per client',
      `${fixed(per.memUsedConnected)} KiB connected, ${fixed(per.memUsedAfterFirstCall)} KiB after first call`,
    ],
    [
      'broker Erlang memory per client',
      `${fixed(per.erlangConnected)} KiB connected, ${fixed(per.erlangAfterFirstCall)} KiB after first call`,
    ],
    ['  of which temp queue', `${fixed(per.tempQueueAlone)} KiB`],
    ['client RSS per client', `${fixed(memory.clientRssPerClientKiB)} KiB`],
    [
      'CPU cores busy broker / servers / clients',
      Object.values(load.cpuCoresBusy)
        .map((v) => fixed(v, 2))
        .join(' / '),
    ],
    [
      'load average before / after',
      `${report.machine.loadAverageAtStart.join(' ')} / ${load.loadAverageAfter.join(' ')}`,
    ],
  ];
  for (const [what, why] of Object.entries(report.unavailable)) rows.push([`n/a: ${what}`, why]);
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`\n${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n\n`);
}

if (process.argv[2] === '--client-process') {
  await clientProcess(JSON.parse(process.argv[3]));
} else {
  // Exit when done: nothing of the run (sockets to the management API, timers) may keep it alive.
  process.exit(await main());
}
