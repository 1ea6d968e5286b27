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
 * Fibonacci server processes, the built CLI), --prefetch (each server's, default 1 as the CLI),
 * --presence-ms (how often each server announces itself to every client, default 2000 as the CLI),
 * --urls (comma-separated Web-STOMP URLs; default STOMP_URL or the node STOMP_RPC_NODE selects),
 * --queue-profile tutorial|replicated, --queue (rpc_queue), --client-processes (2: the clients are
 * split over this many forked Node processes, so one event loop is not the bottleneck), --n (30),
 * --idle-ms (8000: how long the clients sit idle before each memory reading), --json <file>.
 *
 * How a run goes, with every step bounded in time (and a hard deadline over all of it):
 *   1. Start the servers (wait for "awaiting RPC requests") and one observer client that reads
 *      their counters from presence; idle, read the broker's memory (baseline).
 *   2. The client processes open their clients in batches; each waits until it knows a server.
 *      Idle, then read the memory: connections + their presence subscription queues.
 *   3. One call per client (the broker creates its temp reply queue). Idle, read the memory again.
 *   4. Closed loop: every client makes one call at a time, 10 s deadline each, until the duration
 *      ends; every answer is checked against fib(n).
 *   5. Accounting: calls started = succeeded + failed + unsettled (lost); duplicate or late
 *      replies (`stats.droppedReplies`) and server requests beyond the calls sent are allowed only
 *      for requests the clients re-sent (a RECEIPT later than the client's re-send wait); the
 *      servers' counters must cover every call sent. Exit 0 when all of that holds, 1 otherwise.
 *
 * Memory comes from the management API (http://127.0.0.1:<Web-STOMP port - 2>/api, guest/guest,
 * the layout of scripts/broker.mjs's nodes): `mem_used` per node (RSS; refreshed every 5 s by the
 * stats collector, hence the idle time) and the on-demand breakdown of /api/nodes/<name>/memory.
 * The spread over the nodes (and the client count memory is divided by) comes from the clients
 * themselves, each reporting the URL it is connected to: the management API's connection list is
 * eventually consistent (each node's collector adds new connections only every 5 s, a node that
 * does not answer in time is left out, and the list is cached), so it can be off by whole nodes.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds, exited, fibDecimal, quantile, sleep, withTimeout } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_CLI = join(root, 'packages/server/dist/cli.js');
const CALL_TIMEOUT_MS = 10_000;
/** A client that failed a call waits this long before the next, as a page would; no hot error loop. */
const ERROR_PAUSE_MS = 100;

const log = (line) => process.stderr.write(`bench:load: ${line}\n`);

// ---------------------------------------------------------------------------------------------
// Client process: `node thousand-clients.mjs --client-process <config JSON>`, driven over IPC.
// ---------------------------------------------------------------------------------------------

async function clientProcess(config) {
  const { FibonacciRpcClient } = await import('@stomp-rpc/client');
  const expected = BigInt(fibDecimal(config.n));
  const clients = [];
  const rssBefore = process.memoryUsage().rss;
  const send = (message) => process.send?.(message);

  /** How many of the clients are connected to each broker URL, as each client knows it (exact). */
  function connectedClientsPerUrl() {
    const perUrl = {};
    for (const client of clients) if (client.state === 'connected') perUrl[client.url] = (perUrl[client.url] ?? 0) + 1;
    return perUrl;
  }

  /** Opens the clients in batches; resolves with how many are connected and know a server. */
  async function connect() {
    const startedAt = performance.now();
    const deadline = Date.now() + config.connectBudgetMs;
    const failures = {};
    let connected = 0;
    for (let first = 0; first < config.clients && Date.now() < deadline; first += config.batch) {
      const batch = [];
      for (let i = first; i < Math.min(config.clients, first + config.batch); i++) {
        // Presence: a fresh client learns the servers from their answers to its ping on connect.
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
        batch.push({ client, serverKnown });
      }
      clients.push(...batch.map(({ client }) => client));
      const waitMs = Math.max(1000, Math.min(15_000, deadline - Date.now()));
      const outcomes = await Promise.allSettled(
        batch.map(async ({ client, serverKnown }) => {
          await client.ready(waitMs);
          await withTimeout(serverKnown, 5000, 'server discovery').catch(() => {
            throw Object.assign(new Error('no server announced itself'), { code: 'NO_SERVERS' });
          });
        }),
      );
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') connected++;
        else failures[outcome.reason?.code ?? 'OTHER'] = (failures[outcome.reason?.code ?? 'OTHER'] ?? 0) + 1;
      }
    }
    return { connected, failures, connectMs: performance.now() - startedAt, clientsPerUrl: connectedClientsPerUrl() };
  }

  /** One call per client, so each connection has its temp reply queue. */
  async function warm() {
    const outcomes = await Promise.allSettled(clients.map((client) => client.call(config.n)));
    const failures = {};
    let ok = 0;
    outcomes.forEach((outcome) => {
      if (outcome.status === 'fulfilled' && outcome.value === expected) ok++;
      else {
        const code = outcome.status === 'fulfilled' ? 'WRONG_ANSWER' : (outcome.reason?.code ?? 'OTHER');
        failures[code] = (failures[code] ?? 0) + 1;
      }
    });
    return { ok, failures, clientsPerUrl: connectedClientsPerUrl() };
  }

  /** Every client: one call at a time until the duration ends. */
  async function load() {
    const latencies = [];
    const errors = {};
    let started = 0;
    let succeeded = 0;
    let wrong = 0;
    const startedAt = performance.now();
    const endAt = startedAt + config.durationMs;
    const loop = async (client) => {
      while (performance.now() < endAt) {
        started++;
        const callStartedAt = performance.now();
        try {
          const value = await client.call(config.n, { timeoutMs: CALL_TIMEOUT_MS });
          latencies.push(performance.now() - callStartedAt);
          if (value === expected) succeeded++;
          else wrong++;
        } catch (error) {
          errors[error?.code ?? 'OTHER'] = (errors[error?.code ?? 'OTHER'] ?? 0) + 1;
          await sleep(ERROR_PAUSE_MS);
        }
      }
    };
    // Every call has a 10 s deadline, so the loops end by endAt + 10 s; one still running later is a lost call.
    const loops = Promise.all(clients.map(loop));
    const finished = await Promise.race([
      loops.then(() => true),
      sleep(config.durationMs + CALL_TIMEOUT_MS + 5000).then(() => false),
    ]);
    const seconds = (performance.now() - startedAt) / 1000;
    const unsettled = started - succeeded - wrong - Object.values(errors).reduce((a, b) => a + b, 0);
    const perClient = clients.map((client) => client.stats);
    return {
      finished,
      seconds,
      started,
      succeeded,
      wrong,
      errors,
      unsettled,
      latencies,
      // What the clients counted themselves (including the warm-up call).
      clientCalls: perClient.reduce((sum, stats) => sum + stats.calls, 0),
      clientSucceeded: perClient.reduce((sum, stats) => sum + stats.succeeded, 0),
      droppedReplies: perClient.reduce((sum, stats) => sum + stats.droppedReplies, 0),
      clientsWithDroppedReplies: perClient.filter((stats) => stats.droppedReplies > 0).length,
      resent: perClient.reduce((sum, stats) => sum + stats.resent, 0),
      reconnects: perClient.reduce((sum, stats) => sum + stats.reconnects, 0),
    };
  }

  async function closeAll() {
    await Promise.allSettled(clients.map((client) => withTimeout(client.close(), 5000, 'close')));
  }

  const steps = { connect, warm, load };
  process.on('message', async (command) => {
    if (command === 'close') {
      await closeAll();
      send({ step: 'closed' });
      process.exit(0);
    }
    try {
      const result = await steps[command]();
      send({ step: command, ok: true, result, rssBytes: process.memoryUsage().rss, rssBefore });
    } catch (error) {
      send({ step: command, ok: false, error: error?.stack ?? String(error) });
    }
  });
  // The coordinator went away (killed at its deadline): nothing here should outlive it.
  process.on('disconnect', () => process.exit(1));
  send({ step: 'started' });
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
      prefetch: { type: 'string', default: '1' },
      'presence-ms': { type: 'string', default: '2000' },
      urls: { type: 'string' },
      'queue-profile': { type: 'string', default: 'tutorial' },
      queue: { type: 'string', default: 'rpc_queue' },
      'client-processes': { type: 'string', default: '2' },
      'idle-ms': { type: 'string', default: '8000' },
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
    idleMs: whole('idle-ms', 0, 60_000),
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

async function management(base, path) {
  const response = await fetch(`${base}${path}`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    signal: AbortSignal.timeout(10_000),
  }).catch((error) => {
    throw new Error(`the management API at ${base} does not answer (${error.cause?.code ?? error.message})`);
  });
  if (!response.ok) throw new Error(`GET ${base}${path}: HTTP ${response.status}`);
  return response.json();
}

/** Memory of every node of the broker (a cluster answers for all its nodes from any of them). */
async function brokerMemory(bases) {
  const nodes = new Map();
  for (const base of bases) {
    for (const node of await management(base, '/nodes')) {
      if (nodes.has(node.name) || !node.running) continue;
      const { memory } = await management(base, `/nodes/${encodeURIComponent(node.name)}/memory`);
      nodes.set(node.name, {
        memUsed: node.mem_used,
        erlang: memory.total.erlang,
        connections: memory.connection_readers + memory.connection_writers + memory.connection_other,
        queues: memory.queue_procs + memory.queue_slave_procs + memory.quorum_queue_procs,
        binary: memory.binary,
        fdTotal: node.fd_total,
        fdUsed: node.fd_used,
        socketsTotal: node.sockets_total,
      });
    }
  }
  return Object.fromEntries(nodes);
}

/** The queues the clients own, as the management API lists them: a cross-check of two per client. */
async function brokerQueues(base) {
  const queues = await management(base, '/queues?columns=name,node');
  return {
    tempQueues: queues.filter((queue) => queue.name.startsWith('amq.gen-')).length,
    subscriptionQueues: queues.filter((queue) => queue.name.startsWith('stomp-subscription-')).length,
  };
}

/** Broker process ids of the project-local nodes behind the URLs (for their CPU time), by port. */
async function brokerPids(urls) {
  const { nodePid, nodeProfile } = await import('../scripts/broker.mjs');
  const pids = [];
  for (const url of urls) {
    const offset = Number(new URL(url).port) - 15674;
    if (offset % 100 !== 0 || offset < 0 || offset > 900) continue;
    const pid = nodePid(nodeProfile(offset / 100));
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
    { stdio: ['ignore', 'pipe', 'inherit'] },
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
const KiB = (bytes) => bytes / 1024;
const fixed = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** Sum over nodes of one memory field; the difference `after - before` per client, in KiB. */
function perClientKiB(before, after, field, clients) {
  const total = (readings) => sum(Object.values(readings).map((node) => node[field] ?? 0));
  return KiB((total(after) - total(before)) / clients);
}

async function main() {
  let options;
  try {
    options = readOptions();
  } catch (error) {
    log(error.message);
    return 2;
  }
  const children = new Set();
  let observer;
  // Hard deadline over the whole run: servers, connecting, three idle windows, the load, the
  // accounting. main() ends with process.exit, so this timer never holds a finished run.
  const hardDeadlineMs = options.durationMs + 3 * options.idleMs + 120_000;
  setTimeout(() => {
    log(`FAILED: the run passed its hard deadline of ${hardDeadlineMs} ms; killing its processes`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  }, hardDeadlineMs);

  const bases = [...new Set(options.urls.map(managementBase))];
  const problems = [];
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
  try {
    const { FibonacciRpcClient } = await import('@stomp-rpc/client');
    const overview = await management(bases[0], '/overview');
    report.broker = { version: overview.rabbitmq_version, urls: options.urls };
    log(
      `RabbitMQ ${overview.rabbitmq_version} at ${options.urls.join(', ')}; load average ${report.machine.loadAverageAtStart.join(' ')}`,
    );
    const perProcess = Math.ceil(options.clients / options.clientProcesses) + 50;
    if (Number(report.machine.fileDescriptorLimit) < perProcess) {
      problems.push(
        `ulimit -n is ${report.machine.fileDescriptorLimit}, below the ${perProcess} sockets a client process needs`,
      );
    }

    // 1. Servers, an observer for their counters, the baseline.
    const servers = [];
    for (let i = 0; i < options.servers; i++) servers.push(await startServer(options, children));
    const serverPids = new Set(servers.map((server) => server.child.pid));
    log(`${servers.length} server(s) ready (prefetch ${options.prefetch}, ${options.queueProfile} profile)`);
    observer = new FibonacciRpcClient({
      url: options.urls,
      queue: options.queue,
      queueDeclaration: options.queueProfile,
    });
    await observer.ready(10_000);
    const ourServers = async () =>
      (await observer.discoverServers(1500, options.queue)).filter((server) => serverPids.has(server.pid));
    const known = await ourServers();
    if (known.length !== servers.length)
      problems.push(`only ${known.length} of ${servers.length} servers announced themselves`);
    const requestsBefore = sum(known.map((server) => server.stats.requests));

    // mem_used comes from the stats collector (every 5 s): let it see the servers.
    await sleep(options.idleMs);
    const memoryBaseline = await brokerMemory(bases);
    const queuesBaseline = await brokerQueues(bases[0]);
    for (const [name, node] of Object.entries(memoryBaseline)) {
      if (node.fdTotal !== undefined && node.fdTotal < options.clients + 100) {
        problems.push(`${name} allows ${node.fdTotal} file descriptors, too few for ${options.clients} clients`);
      }
    }
    report.broker.fileDescriptors = Object.fromEntries(
      Object.entries(memoryBaseline).map(([name, node]) => [
        name,
        { total: node.fdTotal, socketsTotal: node.socketsTotal },
      ]),
    );

    // 2. Connect.
    const shares = Array.from(
      { length: options.clientProcesses },
      (_, i) =>
        Math.floor(options.clients / options.clientProcesses) + (i < options.clients % options.clientProcesses ? 1 : 0),
    ).filter((share) => share > 0);
    const connectBudgetMs = 60_000;
    const processes = shares.map((clients) =>
      startClientProcess(
        {
          clients,
          urls: options.urls,
          queue: options.queue,
          queueProfile: options.queueProfile,
          n: options.n,
          durationMs: options.durationMs,
          batch: 50,
          connectBudgetMs,
        },
        children,
      ),
    );
    await Promise.all(processes.map((p) => p.started()));
    const cpuBrokerPids = await brokerPids(options.urls);
    log(`connecting ${options.clients} clients from ${processes.length} process(es)`);
    const connectReports = await Promise.all(processes.map((p) => p.step('connect', connectBudgetMs + 20_000)));
    const connected = sum(connectReports.map((r) => r.result.connected));
    const connectFailures = connectReports.reduce((all, r) => addCounts(all, r.result.failures), {});
    const connectMs = Math.max(...connectReports.map((r) => r.result.connectMs));
    log(`${connected} of ${options.clients} clients connected and know a server in ${fixed(connectMs / 1000)} s`);
    if (connected !== options.clients) {
      problems.push(`${options.clients - connected} clients did not connect: ${JSON.stringify(connectFailures)}`);
    }

    await sleep(options.idleMs);
    const memoryConnected = await brokerMemory(bases);
    const queuesConnected = await brokerQueues(bases[0]);
    const clientsPerUrlConnected = connectReports.reduce((all, r) => addCounts(all, r.result.clientsPerUrl), {});

    // 3. One call each: the temp reply queues.
    const warmReports = await Promise.all(processes.map((p) => p.step('warm', CALL_TIMEOUT_MS + 20_000)));
    const warmOk = sum(warmReports.map((r) => r.result.ok));
    const warmFailures = warmReports.reduce((all, r) => addCounts(all, r.result.failures), {});
    if (warmOk !== options.clients)
      problems.push(`first calls: ${options.clients - warmOk} failed ${JSON.stringify(warmFailures)}`);
    await sleep(options.idleMs);
    const memoryWarm = await brokerMemory(bases);
    const queuesWarm = await brokerQueues(bases[0]);
    const clientsPerUrlWarm = warmReports.reduce((all, r) => addCounts(all, r.result.clientsPerUrl), {});
    const rssPerClientKiB = sum(warmReports.map((r) => r.rssBytes - r.rssBefore)) / 1024 / options.clients;
    // Per client = per client connection open after the first calls (knowing a server or not).
    const clientConnections = Math.max(1, sum(Object.values(clientsPerUrlWarm)));
    const memory = {
      baseline: memoryBaseline,
      connected: memoryConnected,
      afterFirstCall: memoryWarm,
      perClientKiB: {
        memUsedConnected: perClientKiB(memoryBaseline, memoryConnected, 'memUsed', clientConnections),
        memUsedAfterFirstCall: perClientKiB(memoryBaseline, memoryWarm, 'memUsed', clientConnections),
        erlangConnected: perClientKiB(memoryBaseline, memoryConnected, 'erlang', clientConnections),
        erlangAfterFirstCall: perClientKiB(memoryBaseline, memoryWarm, 'erlang', clientConnections),
        connectionProcesses: perClientKiB(memoryBaseline, memoryWarm, 'connections', clientConnections),
        queueProcesses: perClientKiB(memoryBaseline, memoryWarm, 'queues', clientConnections),
        tempQueueAlone: perClientKiB(memoryConnected, memoryWarm, 'erlang', clientConnections),
      },
      clientRssPerClientKiB: rssPerClientKiB,
    };
    log(
      `broker memory per client: ${fixed(memory.perClientKiB.memUsedAfterFirstCall)} KiB mem_used, ` +
        `${fixed(memory.perClientKiB.erlangAfterFirstCall)} KiB Erlang; client RSS ${fixed(rssPerClientKiB)} KiB`,
    );

    // 4. The load.
    const cpuPids = { broker: cpuBrokerPids, servers: [...serverPids], clients: processes.map((p) => p.child.pid) };
    const cpuNow = () =>
      Object.fromEntries(
        Object.entries(cpuPids).map(([role, pids]) => [role, sum(pids.map((pid) => cpuSeconds(pid) ?? Number.NaN))]),
      );
    log(`load: every client one call at a time for ${options.durationMs} ms`);
    const cpuBefore = cpuNow();
    const loadStartedAt = performance.now();
    const loadReports = await Promise.all(
      processes.map((p) => p.step('load', options.durationMs + CALL_TIMEOUT_MS + 30_000)),
    );
    const loadSeconds = (performance.now() - loadStartedAt) / 1000;
    const cpuAfter = cpuNow();
    const loadAverageAfter = loadavg().map((value) => Number(value.toFixed(2)));
    const results = loadReports.map((r) => r.result);

    // 5. Accounting.
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const started = sum(results.map((r) => r.started));
    const succeeded = sum(results.map((r) => r.succeeded));
    const wrong = sum(results.map((r) => r.wrong));
    const unsettled = sum(results.map((r) => r.unsettled));
    const errors = results.reduce((all, r) => addCounts(all, r.errors), {});
    const droppedReplies = sum(results.map((r) => r.droppedReplies));
    const clientCalls = sum(results.map((r) => r.clientCalls));
    const resent = sum(results.map((r) => r.resent));
    const reconnects = sum(results.map((r) => r.reconnects));
    const callsSeconds = Math.max(...results.map((r) => r.seconds));
    // Give the servers' counters a moment to include the last replies, then ask for them.
    await sleep(500);
    const finalServers = await ourServers();
    const requestsServed = sum(finalServers.map((server) => server.stats.requests)) - requestsBefore;
    const callsSent = warmOk + sum(Object.values(warmFailures)) + started - (errors.NO_SERVERS ?? 0);
    if (finalServers.length !== servers.length)
      problems.push(`only ${finalServers.length} servers answered the final ping`);
    if (results.some((r) => !r.finished) || unsettled > 0) problems.push(`${unsettled} calls never settled (lost)`);
    if (Object.keys(errors).length > 0) problems.push(`calls failed: ${JSON.stringify(errors)}`);
    if (wrong > 0) problems.push(`${wrong} calls got a wrong answer`);
    // A re-sent request (its RECEIPT was late, or its connection went) may be answered twice; the
    // caller still gets one answer. Any other duplicate reply is a bug.
    if (droppedReplies > resent) {
      problems.push(`${droppedReplies} duplicate or late replies (droppedReplies) for ${resent} re-sent requests`);
    }
    const clientSucceeded = sum(results.map((r) => r.clientSucceeded));
    if (clientCalls !== started + options.clients || clientSucceeded !== succeeded + wrong + warmOk) {
      problems.push(
        `the clients counted ${clientCalls} calls (${clientSucceeded} answered), the loops ${started} ` +
          `(${succeeded + wrong} answered) + ${options.clients} first calls (${warmOk} answered)`,
      );
    }
    if (requestsServed < callsSent || requestsServed > callsSent + resent) {
      problems.push(`the servers took ${requestsServed} requests for ${callsSent} calls sent (${resent} re-sent)`);
    }

    Object.assign(report, {
      clients: { requested: options.clients, connected, connectFailures, connectSeconds: connectMs / 1000 },
      queuesPerClient:
        'one temp reply queue (amq.gen-..., after the first call) and one presence subscription queue (stomp-subscription-...)',
      // Counted by the clients (exact); the queues as the management API lists them (a cross-check).
      spread: { clientsPerUrl: { connected: clientsPerUrlConnected, afterFirstCall: clientsPerUrlWarm } },
      queues: { baseline: queuesBaseline, connected: queuesConnected, afterFirstCall: queuesWarm },
      memory,
      load: {
        durationMs: options.durationMs,
        seconds: callsSeconds,
        calls: started,
        succeeded,
        wrong,
        unsettled,
        errors,
        callsPerSecond: succeeded / callsSeconds,
        latencyMs: {
          p50: quantile(latencies, 0.5),
          p90: quantile(latencies, 0.9),
          p99: quantile(latencies, 0.99),
          max: latencies.at(-1),
        },
        droppedReplies,
        resent,
        reconnects,
        firstCalls: { ok: warmOk, failures: warmFailures },
        callsSent,
        requestsServed,
        servers: finalServers.map((server) => ({
          pid: server.pid,
          requests: server.stats.requests,
          errors: server.stats.errors,
        })),
        cpuCoresBusy: Object.fromEntries(
          Object.keys(cpuAfter).map((role) => [role, (cpuAfter[role] - cpuBefore[role]) / loadSeconds]),
        ),
        loadAverageAfter,
      },
      problems,
      ok: problems.length === 0,
    });
    printReport(report);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);

    // Tear down: clients, observer, servers.
    await Promise.all(processes.map((p) => p.close()));
    await withTimeout(observer.close(), 5000, 'observer close').catch(() => {});
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((server) => exited(server.child, 15_000)));
  } catch (error) {
    log(`FAILED: ${error.message}`);
    for (const child of children) child.kill('SIGKILL');
    await observer?.close().catch(() => {});
    return 1;
  }
  if (problems.length > 0) {
    log(`FAILED:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  log('every call answered exactly once');
  return 0;
}

function printReport(report) {
  const { clients, load, memory, queues, spread } = report;
  const per = memory.perClientKiB;
  const rows = [
    ['clients connected', `${clients.connected} of ${clients.requested} in ${fixed(clients.connectSeconds)} s`],
    ['clients per URL', JSON.stringify(spread.clientsPerUrl.afterFirstCall)],
    [
      'queues',
      `${queues.afterFirstCall.tempQueues} temp reply + ${queues.afterFirstCall.subscriptionQueues} presence subscription`,
    ],
    [
      'calls',
      `${load.calls} in ${fixed(load.seconds)} s: ${load.succeeded} ok, errors ${JSON.stringify(load.errors)}, lost ${load.unsettled}`,
    ],
    ['calls/s', fixed(load.callsPerSecond, 0)],
    [
      'latency p50 / p99 / max ms',
      `${fixed(load.latencyMs.p50, 2)} / ${fixed(load.latencyMs.p99, 2)} / ${fixed(load.latencyMs.max, 2)}`,
    ],
    ['duplicate/late replies', `${load.droppedReplies} (requests re-sent: ${load.resent})`],
    ['servers took / calls sent', `${load.requestsServed} / ${load.callsSent}`],
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
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`\n${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n\n`);
}

if (process.argv[2] === '--client-process') {
  await clientProcess(JSON.parse(process.argv[3]));
} else {
  // Exit when done: nothing of the run (sockets to the management API, timers) may keep it alive.
  process.exit(await main());
}
