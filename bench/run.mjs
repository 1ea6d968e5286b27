#!/usr/bin/env node
/*
 * `npm run bench`: this project against the designs its users know, on the same broker, machine
 * and run, so the ratios mean something.
 *
 *   node bench/run.mjs            full run (about 5 minutes): table on stdout, results in bench-results/
 *   node bench/run.mjs --smoke    a few seconds; what CI runs so the bench cannot rot
 *   node bench/run.mjs --docs     also rewrites the table in BENCHMARKS.md and docs/bench.svg
 *   node bench/run.mjs --profile  CPU profiles (--cpu-prof) of this project's client and server at
 *                                 256 in flight (--profile-level N: at N), summarised into
 *                                 bench-results/profile.md
 *   --only a,b                    only these scenarios' throughput (ids as in SCENARIOS)
 *   --reps N, --duration-ms MS    repetitions and window per level (default 3 x 2500 ms)
 *
 * Every scenario gets its own queue; the scenarios take turns, one window per level each, in as
 * many rounds as repetitions (forwards, then backwards, ...). Each turn starts the scenario's server
 * process before its client and stops it after; the client runs in its own process (load.mjs),
 * which reads the CPU time of the broker, the server and itself around every window. The broker comes from scripts/broker.mjs
 * (STOMP_URL, or the project-local node it starts; STOMP_RPC_NODE picks a side node).
 */
import { fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { amqpUrl, brokerUrl, ensureBroker, measuredBrokerPid } from '../scripts/broker.mjs';
import { exited, fmt, median, withTimeout } from './lib.mjs';
import { summarizeProfile } from './profile-summary.mjs';
import { deleteQueues } from './queues.mjs';
import { renderChart } from './render.mjs';
import { connectRawStomp } from './stomp-wire.mjs';
import { targetVerdicts } from './verdicts.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'bench-results');
const CLI = join(root, 'packages/server/dist/cli.js');

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    reps: { type: 'string' },
    'duration-ms': { type: 'string' },
    only: { type: 'string' },
    'profile-level': { type: 'string', default: '256' },
  },
});
const smoke = args.smoke;
const settings = {
  levels: smoke ? [1, 64] : [1, 64, 256],
  reps: Number(args.reps ?? (smoke ? 1 : 3)),
  durationMs: Number(args['duration-ms'] ?? (smoke ? 250 : 2500)),
  warmupMs: smoke ? 100 : 500,
  fibNs: smoke ? [1000, 100_000] : [1000, 10_000, 100_000, 1_000_000],
  fibReps: smoke ? 1 : 5,
  largeMs: smoke ? 500 : 4000,
  memoryCalls: smoke ? 1000 : 10_000,
  fairnessPrefetches: smoke ? [64] : [1, 32, 64, 128, 256],
  largeCalls: smoke ? 2 : 10,
};
if (![settings.reps, settings.durationMs].every((v) => Number.isInteger(v) && v > 0 && v <= 60_000)) {
  throw new Error('--reps and --duration-ms must be whole numbers from 1 to 60000');
}

/** Prefetch of the tuned peers' servers: at least the most calls in flight, so none waits on an ACK. */
const WIDE_PREFETCH = 256;
const SCENARIOS = [
  // What a user gets: the CLI server and the client with their defaults, no flag, no option.
  { name: 'project', id: 'project-defaults', label: 'stomp-rpc, defaults', server: { kind: 'cli' } },
  {
    name: 'project',
    id: 'project-p1',
    label: "stomp-rpc, server --prefetch 1 (the tutorial's)",
    server: { kind: 'cli', prefetch: 1 },
  },
  {
    name: 'project',
    id: 'project-unconfirmed',
    label: 'stomp-rpc, client confirmRequests off',
    clientOptions: { confirmRequests: false },
    server: { kind: 'cli' },
  },
  {
    name: 'project',
    id: 'project-traced',
    label: 'stomp-rpc, client traceCalls on',
    clientOptions: { traceCalls: true },
    server: { kind: 'cli' },
  },
  { name: 'rx-default', label: 'RxStompRPC defaults, tutorial server', server: { kind: 'stompjs', prefetch: 1 } },
  {
    name: 'rx-tuned',
    label: 'RxStompRPC tuned, server prefetch 256',
    server: { kind: 'stompjs', prefetch: WIDE_PREFETCH },
  },
  { name: 'stompjs', label: 'tutorial in stompjs (prefetch 1)', server: { kind: 'stompjs', prefetch: 1 } },
  {
    name: 'amqplib',
    label: 'amqplib Direct Reply-to, noDelay, prefetch 256',
    server: { kind: 'amqplib', prefetch: WIDE_PREFETCH },
  },
  { name: 'echo', label: 'raw Web-STOMP echo (ceiling)', server: { kind: 'raw-echo' } },
  { name: 'one-hop', label: 'raw one-hop loop (not an RPC)', server: undefined },
];

const log = (line) => process.stderr.write(`bench: ${line}\n`);
const children = new Set();
const queues = [];
const queueName = (id) => {
  const name = `bench.${id}.${process.pid}`;
  queues.push(name);
  return name;
};

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Starts a scenario's server; resolves once it consumes. */
function startServer(spec, queue, { execArgv = [] } = {}) {
  return spec.kind === 'cli' ? startCliServer(spec, queue, execArgv) : startForkedServer(spec, queue, execArgv);
}

/** The project's server as a user runs it: the command line, JSON logs on stdout. */
async function startCliServer(spec, queue, execArgv) {
  const args = [
    CLI,
    '--url',
    brokerUrl(),
    '--queue',
    queue,
    ...(spec.prefetch === undefined ? [] : ['--prefetch', String(spec.prefetch)]),
    '--log-level',
    'info',
  ];
  // With an IPC channel: if this process is killed, the channel closes and the server stops itself
  // (packages/server/src/cli.ts) instead of consuming on, unwatched.
  const child = track(spawn(process.execPath, [...execArgv, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }));
  let output = '';
  await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        output = (output + chunk).slice(-4000);
        if (output.includes('awaiting RPC requests')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
    }),
    20_000,
    'project server start',
  );
  child.stdout.resume();
  return {
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child, 15_000);
    },
  };
}

/** A peer's server (or the project's library server) in bench/servers.mjs, driven over IPC. */
async function startForkedServer(spec, queue, execArgv) {
  const address = spec.kind === 'amqplib' ? amqpUrl() : brokerUrl();
  const extra = spec.kind === 'project' ? [String(spec.cacheBytes), String(spec.workers)] : [];
  const child = track(
    fork(join(root, 'bench/servers.mjs'), [spec.kind, address, queue, String(spec.prefetch ?? 1), ...extra], {
      execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  await withTimeout(
    new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`${spec.kind} server exited with ${code}`)));
    }),
    20_000,
    `${spec.kind} server start`,
  );
  return {
    pid: child.pid,
    eventLoopDelay: async (reset) => {
      if (reset) return child.send('eld-reset');
      const answer = new Promise((resolve) => child.once('message', (message) => resolve(message.eld)));
      child.send('eld');
      return withTimeout(answer, 5000, 'event-loop delay');
    },
    stop: async () => {
      if (child.connected) child.send('stop');
      await exited(child, 15_000);
    },
  };
}

/** Runs load.mjs with `config`; resolves with what it reports. */
async function runLoad(config, { execArgv = [], timeoutMs }) {
  const child = track(
    fork(join(root, 'bench/load.mjs'), [JSON.stringify({ url: brokerUrl(), amqpUrl: amqpUrl(), ...config })], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const report = await withTimeout(
    new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
    }),
    timeoutMs,
    `${config.mode} ${config.scenario ?? ''}`,
  );
  await exited(child, 10_000);
  if (!report.ok) throw new Error(report.error);
  return report;
}

/**
 * Every scenario's throughput, in rounds: each round measures each scenario once at every level,
 * forwards in even rounds and backwards in odd ones (A B C, C B A, A B C), so that the machine's
 * drift over the run's minutes falls on every scenario alike, not on the last ones. Each turn
 * starts the scenario's server (on the scenario's own queue) and stops it after: a peer's server
 * that sends no heart-beats would not outlive the wait for its next turn (Web-STOMP closes a
 * connection silent for 60 s).
 */
async function throughputRounds(scenarios, pids) {
  const measured = scenarios.map((scenario) => ({
    scenario,
    queue: queueName(scenario.id ?? scenario.name),
    runs: [],
  }));
  for (let round = 0; round < settings.reps; round++) {
    for (const entry of round % 2 === 0 ? measured : measured.toReversed()) {
      log(`round ${round + 1} of ${settings.reps}, ${entry.scenario.label}: levels ${settings.levels.join(', ')}`);
      const server = entry.scenario.server ? await startServer(entry.scenario.server, entry.queue) : undefined;
      try {
        const runs = await throughputRound(entry, server, pids);
        entry.runs.push(...runs.map((run) => ({ ...run, rep: round })));
      } finally {
        await server?.stop();
      }
    }
  }
  return measured.map(({ scenario, runs }) => ({ scenario, runs }));
}

/** One window per level for a scenario, its server running: a client process of its own (load.mjs). */
async function throughputRound({ scenario, queue }, server, pids) {
  const { levels, durationMs, warmupMs } = settings;
  const { runs } = await runLoad(
    {
      mode: 'throughput',
      scenario: scenario.name,
      clientOptions: scenario.clientOptions ?? {},
      queue,
      levels,
      reps: 1,
      durationMs,
      warmupMs,
      pids: { ...pids, server: server?.pid },
    },
    { timeoutMs: levels.length * (durationMs + warmupMs + 15_000) + 30_000 },
  );
  return runs;
}

async function fibTimings() {
  const rows = {};
  for (const cached of [false, true]) {
    const queue = queueName(cached ? 'fib-cached' : 'fib-uncached');
    const server = await startServer(
      { kind: 'project', prefetch: 1, cacheBytes: cached ? 33_554_432 : 0, workers: 1 },
      queue,
    );
    try {
      const { results } = await runLoad(
        { mode: 'fib', queue, ns: settings.fibNs, reps: settings.fibReps, cached },
        { timeoutMs: 120_000 },
      );
      for (const result of results) {
        rows[result.n] ??= { n: result.n };
        const row = rows[result.n];
        row[cached ? 'cachedEndToEnd' : 'uncachedEndToEnd'] = median(result.endToEnd);
        row[cached ? 'cachedServer' : 'uncachedServer'] = median(result.server);
        if (!cached) row.computeAlone = median(result.computeAlone);
      }
    } finally {
      await server.stop();
    }
  }
  return Object.values(rows);
}

/** Event-loop delay in the server while it serves fib(1000000) with 2 in flight, uncached. */
async function eventLoopUnderLargeN() {
  const results = [];
  for (const workers of [1, 0]) {
    const queue = queueName(`eld-${workers}`);
    const server = await startServer({ kind: 'project', prefetch: 2, cacheBytes: 0, workers }, queue);
    try {
      await server.eventLoopDelay(true);
      const load = await runLoad(
        { mode: 'load-large', queue, n: 1_000_000, level: 2, durationMs: settings.largeMs },
        { timeoutMs: settings.largeMs + 60_000 },
      );
      results.push({ workers, ...load, eld: await server.eventLoopDelay(false) });
    } finally {
      await server.stop();
    }
  }
  return results;
}

/** Prefetch against fairness: large n among small calls on two servers, per prefetch. */
async function largeAmongSmall() {
  const results = [];
  for (const prefetch of settings.fairnessPrefetches) {
    const queue = queueName(`fair-${prefetch}`);
    const servers = [];
    try {
      for (let i = 0; i < 2; i++) servers.push(await startServer({ kind: 'cli', prefetch }, queue));
      const load = await runLoad(
        { mode: 'fairness', queue, level: 256, largeN: 200_000, largeCalls: settings.largeCalls, durationMs: 4000 },
        { timeoutMs: 120_000 },
      );
      results.push({ prefetch, ...load });
    } finally {
      for (const server of servers) await server.stop();
    }
  }
  return results;
}

async function memoryPerCall() {
  return runLoad(
    { mode: 'memory', queue: queueName('memory'), calls: settings.memoryCalls },
    { execArgv: ['--expose-gc'], timeoutMs: 60_000 },
  );
}

function bundleSize() {
  const file = join(root, 'packages/client/dist/browser/stomp-rpc.iife.js');
  if (!existsSync(file)) return undefined;
  const bytes = readFileSync(file);
  return { file: 'packages/client/dist/browser/stomp-rpc.iife.js', raw: bytes.length, gzip: gzipSync(bytes).length };
}

async function machine() {
  let broker = 'unknown';
  try {
    const session = await connectRawStomp(brokerUrl(), { onFrame: () => {} });
    broker = session.server ?? broker;
    await session.close();
  } catch {
    // reported as unknown
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    broker,
  };
}

/** Per scenario and level: medians and ranges over the repetitions. */
function summarize(runsByScenario) {
  const rows = [];
  for (const { scenario, runs } of runsByScenario) {
    for (const level of settings.levels) {
      const mine = runs.filter((run) => run.level === level);
      const rates = mine.map((run) => run.callsPerSecond);
      const cpu = {};
      for (const who of ['broker', 'server', 'client']) {
        const used = mine.map((run) => run.cpu[who]).filter((value) => typeof value === 'number');
        cpu[who] = used.length ? median(used) : null;
      }
      rows.push({
        id: scenario.id ?? scenario.name,
        label: scenario.label,
        level,
        callsPerSecond: median(rates),
        min: Math.min(...rates),
        max: Math.max(...rates),
        p50: median(mine.map((run) => run.p50)),
        p99: median(mine.map((run) => run.p99)),
        errors: mine.reduce((sum, run) => sum + run.errors, 0),
        cpu,
      });
    }
  }
  const ceiling = (level) => rows.find((row) => row.id === 'echo' && row.level === level);
  for (const row of rows) {
    const echo = ceiling(row.level);
    row.vsCeiling = echo ? row.callsPerSecond / echo.callsPerSecond : null;
    row.p50VsCeiling = echo ? row.p50 / echo.p50 : null;
  }
  return rows;
}

function renderTables(report) {
  const lines = [];
  const { settings: s } = report;
  lines.push(
    `Calls of fib(30); ${s.reps} repetition(s) of ${s.durationMs} ms per level (after ${s.warmupMs} ms warm-up), ` +
      'the scenarios taking turns, one repetition each per round (forwards, then backwards); ' +
      'calls/s is the median with the range; p50/p99 are medians over the repetitions; CPU is cores busy ' +
      '(median; 1.00 = one core) for broker / server / client.',
    '',
    '| scenario | in flight | calls/s (median) | range | vs echo | p50 ms | p99 ms | CPU broker / server / client | broker µs per call |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  );
  for (const row of report.throughput) {
    const cpu = ['broker', 'server', 'client'].map((who) => fmt(row.cpu[who], 2)).join(' / ');
    const brokerUs = row.cpu.broker === null ? null : (row.cpu.broker / row.callsPerSecond) * 1e6;
    lines.push(
      `| ${row.label} | ${row.level} | ${fmt(row.callsPerSecond)} | ${fmt(row.min)}–${fmt(row.max)} | ` +
        `${fmt(row.vsCeiling, 2)}x | ${fmt(row.p50, 2)} | ${fmt(row.p99, 2)} | ${cpu} | ${fmt(brokerUs)} |` +
        (row.errors ? ` ${row.errors} errors` : ''),
    );
  }
  const verdicts = targetVerdicts(report);
  if (verdicts.length > 0) lines.push('', ...verdicts);
  if (report.fib.length > 0) lines.push(...fibTables(report));
  if (report.fairness.length > 0) lines.push('', ...fairnessTable(report.fairness));
  if (report.memory === undefined) return lines.join('\n');
  lines.push(
    '',
    `Memory per pending call (${fmt(report.memory.pending)} calls in flight to a queue nobody consumes, heap + external after GC): ` +
      `${fmt(report.memory.bytesPerCall)} bytes.`,
    '',
    report.bundle
      ? `Browser bundle \`${report.bundle.file}\`: ${fmt(report.bundle.raw)} bytes, ${fmt(report.bundle.gzip)} bytes gzipped (${fmt(report.bundle.gzip / 1024, 1)} KiB, zlib default level).`
      : 'Browser bundle: not built (npm run build writes it).',
  );
  return lines.join('\n');
}

function fibTables(report) {
  const { settings: s } = report;
  const lines = [];
  lines.push(
    '',
    `fib(n), median of ${s.fibReps}, ms: end to end = call made to exact bigint in hand; server = the server's own time ` +
      '(delivery to reply, from the `rpc-server` reply header); compute = fib(n) and its decimal in one process, no broker.',
    '',
    '| n | end to end, uncached | server, uncached | compute alone | end to end, cached | server, cached |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of report.fib) {
    lines.push(
      `| ${fmt(row.n)} | ${fmt(row.uncachedEndToEnd, 2)} | ${fmt(row.uncachedServer, 2)} | ${fmt(row.computeAlone, 2)} | ` +
        `${fmt(row.cachedEndToEnd, 2)} | ${fmt(row.cachedServer, 2)} |`,
    );
  }
  lines.push(
    '',
    'Server event-loop delay while serving fib(1000000) uncached, 2 in flight (monitorEventLoopDelay, 1 ms resolution):',
    '',
    '| server | calls | event-loop delay p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const row of report.eventLoop) {
    const label = row.workers > 0 ? `worker pool (${row.workers} thread)` : 'no pool (inline, for comparison)';
    lines.push(
      `| ${label} | ${row.calls} | ${fmt(row.eld.p50, 1)} | ${fmt(row.eld.p99, 1)} | ${fmt(row.eld.max, 1)} |`,
    );
  }
  return lines;
}

function fairnessTable(rows) {
  const lines = [
    'Large n among small calls: two servers (the CLI) at each prefetch; fib(200000 + k), a new n per call so no cache ' +
      'answers it, one at a time, alone and then while another client keeps 256 calls of fib(30) in flight:',
    '',
    '| server prefetch | large call alone p50 ms | max | among 256 small p50 ms | max | small calls/s meanwhile |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.prefetch} | ${fmt(row.alone.p50, 1)} | ${fmt(row.alone.max, 1)} | ${fmt(row.loaded.p50, 1)} | ` +
        `${fmt(row.loaded.max, 1)} | ${fmt(row.smallPerSecond)} |`,
    );
  }
  return lines;
}

async function profileRun() {
  const dir = join(outDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const execArgv = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const queue = queueName('profile');
  const before = new Set(readdirSync(dir));
  const server = await startServer({ kind: 'cli' }, queue, { execArgv });
  try {
    await runLoad(
      {
        mode: 'throughput',
        scenario: 'project',
        clientOptions: {},
        queue,
        levels: [Number(args['profile-level'])],
        reps: 1,
        durationMs: settings.durationMs * 2,
        warmupMs: 0,
        pids: {},
      },
      { execArgv, timeoutMs: 120_000 },
    );
  } finally {
    await server.stop();
  }
  // Main threads only (<pid>.0.*): the server's worker pool threads write profiles of their own.
  const fresh = readdirSync(dir).filter(
    (name) => name.endsWith('.cpuprofile') && !before.has(name) && /\.\d+\.0\.\d+\.cpuprofile$/.test(name),
  );
  const sections = fresh.map((name) => {
    const who = name.includes(`.${server.pid}.0.`) ? 'server' : 'client'; // not a digit run of the date
    return `### ${who} (${name})\n\n${summarizeProfile(JSON.parse(readFileSync(join(dir, name), 'utf8')))}`;
  });
  const text = sections.join('\n\n');
  writeFileSync(join(outDir, 'profile.md'), `${text}\n`);
  process.stdout.write(`${text}\n`);
}

async function main() {
  const startedAt = Date.now();
  const { url } = await ensureBroker();
  mkdirSync(outDir, { recursive: true });
  if (args.profile) {
    await profileRun();
    return;
  }
  const pids = { broker: measuredBrokerPid(url) };
  const only = args.only?.split(',');
  const runsByScenario = await throughputRounds(
    SCENARIOS.filter((s) => !only || only.includes(s.id ?? s.name)),
    pids,
  );
  // --only measures the named scenarios' throughput and nothing else (for quick comparisons).
  const everything = only === undefined;
  if (everything) log('fib(n) timings');
  const fib = everything ? await fibTimings() : [];
  if (everything) log('event-loop delay under fib(1000000)');
  const eventLoop = everything ? await eventLoopUnderLargeN() : [];
  if (everything || only.includes('fairness')) log('large n among small calls, by prefetch');
  const fairness = everything || only.includes('fairness') ? await largeAmongSmall() : [];
  if (everything) log('memory per pending call');
  const memory = everything ? await memoryPerCall() : undefined;
  const report = {
    when: new Date().toISOString(),
    command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    machine: await machine(),
    settings,
    throughput: summarize(runsByScenario),
    fib,
    eventLoop,
    fairness,
    memory,
    bundle: bundleSize(),
    seconds: (Date.now() - startedAt) / 1000,
  };
  const tables = renderTables(report);
  const { machine: m } = report;
  const header = `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.broker}. Run took ${fmt(report.seconds)} s.`;
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  const chart = renderChart(report.throughput, settings.levels, header);
  writeFileSync(join(outDir, 'bench.svg'), chart);
  process.stdout.write(`${header}\n\n${tables}\n`);
  if (args.docs) {
    writeFileSync(join(root, 'docs/bench.svg'), chart);
    const path = join(root, 'BENCHMARKS.md');
    const doc = readFileSync(path, 'utf8');
    const start = '<!-- bench:start -->';
    const end = '<!-- bench:end -->';
    if (!doc.includes(start) || !doc.includes(end)) throw new Error('BENCHMARKS.md lacks the bench markers');
    const body = `${start}\n\`${report.command}\`, ${report.when}. ${header}\n\n${tables}\n${end}`;
    writeFileSync(path, doc.slice(0, doc.indexOf(start)) + body + doc.slice(doc.indexOf(end) + end.length));
    log('wrote BENCHMARKS.md and docs/bench.svg');
  }
}

try {
  await main();
} catch (error) {
  log(error.stack ?? String(error));
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGKILL');
  await deleteQueues(queues, log);
}
