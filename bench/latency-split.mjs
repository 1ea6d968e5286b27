#!/usr/bin/env node
/*
 * Where one call's time goes at 1 in flight (issue 15's p50 target), against the raw Web-STOMP
 * echo in the same run:
 *
 *   npm run build && node bench/latency-split.mjs [--calls 3000] [--rounds 5]
 *
 * Each round runs, one after another, the echo (hand-written client and server), this project
 * with its defaults (FibonacciRpcClient and the CLI server) and the same with confirmRequests off,
 * `--calls` sequential calls each. bench/latency-hooks.mjs timestamps every process's broker
 * socket, so each call splits into: the client from the call to its write, the server from the
 * request's data to the reply's write, the client from the reply's data to the call's end, and
 * what is left, the broker and the kernel between them. The broker's CPU per call is read from
 * /proc (for the project-local node; n/a for another broker). Printed: medians over the rounds of
 * each round's median.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brokerUrl, ensureBroker, measuredBrokerPid } from '../scripts/broker.mjs';
import { marks, now, watchPort } from './latency-hooks.mjs';
import { cpuSeconds, exited, median, withTimeout } from './lib.mjs';
import { deleteQueues } from './queues.mjs';
import { connectRawStomp, SCRATCH_QUEUE_HEADERS } from './stomp-wire.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOOKS = join(root, 'bench/latency-hooks.mjs');
const { values: args } = parseArgs({
  options: { calls: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '5' } },
});
const calls = Number(args.calls);
const rounds = Number(args.rounds);
if (
  !(
    Number.isInteger(calls) &&
    calls >= 100 &&
    calls <= 100_000 &&
    Number.isInteger(rounds) &&
    rounds >= 1 &&
    rounds <= 50
  )
) {
  throw new Error('--calls must be 100 to 100000 and --rounds 1 to 50');
}
const WARMUP_CALLS = 200;
const brokerPort = new URL(brokerUrl()).port || '80';
watchPort(Number(brokerPort));
const servers = new Set();
const log = (line) => process.stderr.write(`latency-split: ${line}\n`);

/**
 * A server process with the hooks loaded, ready once it prints `readyText` (or, without one, says
 * so over IPC, as bench/servers.mjs does); `serverTime()` ends a window and reads its median.
 */
async function startServer(args, readyText) {
  const child = spawn(process.execPath, ['--import', HOOKS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, LATENCY_SPLIT_PORT: brokerPort },
  });
  const stop = async () => {
    servers.delete(stop);
    if (child.connected) child.disconnect();
    child.kill('SIGTERM');
    await exited(child, 10_000);
  };
  servers.add(stop);
  let stdout = '';
  let stderr = '';
  const lines = [];
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    let end = stderr.indexOf('\n');
    while (end !== -1) {
      lines.push(stderr.slice(0, end));
      stderr = stderr.slice(end + 1);
      end = stderr.indexOf('\n');
    }
  });
  await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout = (stdout + chunk).slice(-4000);
        if (readyText !== undefined && stdout.includes(readyText)) resolve();
      });
      if (readyText === undefined) child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stdout}`)));
    }),
    20_000,
    'server start',
  );
  child.stdout.resume();
  const serverTime = async () => {
    const seen = lines.length;
    child.kill('SIGUSR2');
    const deadline = Date.now() + 5000;
    for (;;) {
      const line = lines.slice(seen).find((text) => text.startsWith('latency-split server'));
      if (line !== undefined) return Number(line.split(' ')[2]);
      if (Date.now() > deadline) throw new Error('the server gave no timing within 5000 ms');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { serverTime };
}

/** A caller through the raw echo: the body carries the call's number and comes back as the reply. */
async function echoCaller(queue) {
  let answer = () => {};
  const session = await connectRawStomp(brokerUrl(), {
    onFrame: (frame) => {
      if (frame.command === 'MESSAGE') answer(frame.body);
    },
  });
  const headers = { destination: `/queue/${queue}`, 'reply-to': '/temp-queue/r', ...SCRATCH_QUEUE_HEADERS };
  let next = 0;
  return {
    call: () =>
      withTimeout(
        new Promise((resolve) => {
          const id = String(next++);
          answer = (body) => body === id && resolve();
          session.send('SEND', headers, id);
        }),
        10_000, // as a FibonacciRpcClient call's default deadline
        'echo reply',
      ),
    close: () => session.close(),
  };
}

async function projectCaller(queue, options) {
  const { FibonacciRpcClient } = await import('@stomp-rpc/client');
  const client = new FibonacciRpcClient({ url: brokerUrl(), queue, ...options });
  return { call: () => client.call(30), close: () => client.close() };
}

/** `calls` sequential calls: each one's parts, and the broker's CPU per call. */
async function measure(caller, server, brokerPid) {
  for (let i = 0; i < WARMUP_CALLS; i++) await caller.call();
  await server.serverTime(); // a fresh window
  const parts = { send: [], receive: [], total: [] };
  const cpuBefore = cpuSeconds(brokerPid);
  for (let i = 0; i < calls; i++) {
    marks.writeAt = 0;
    const startedAt = now();
    await caller.call();
    const endedAt = now();
    parts.send.push(marks.writeAt - startedAt);
    parts.receive.push(endedAt - marks.lastDataAt);
    parts.total.push(endedAt - startedAt);
  }
  const brokerCpuUs = ((cpuSeconds(brokerPid) - cpuBefore) * 1e6) / calls;
  const serverUs = await server.serverTime();
  const total = median(parts.total);
  const send = median(parts.send);
  const receive = median(parts.receive);
  return { total, send, receive, server: serverUs, between: total - send - receive - serverUs, brokerCpuUs };
}

async function main() {
  const { url } = await ensureBroker();
  // The local node's CPU, only when it is the broker measured (not another one at STOMP_URL).
  const brokerPid = measuredBrokerPid(url);
  const echoQueue = `bench.split-echo.${process.pid}`;
  const projectQueue = `bench.split.${process.pid}`;
  try {
    const echoServer = await startServer([join(root, 'bench/servers.mjs'), 'raw-echo', brokerUrl(), echoQueue]);
    const cli = join(root, 'packages/server/dist/cli.js');
    const projectServer = await startServer(
      [cli, '--url', brokerUrl(), '--queue', projectQueue, '--log-level', 'info'],
      'awaiting RPC requests',
    );
    printTable(await runRounds(echoServer, projectServer, { echoQueue, projectQueue, brokerPid }), brokerPid);
  } finally {
    for (const stop of [...servers]) await stop();
    await deleteQueues([echoQueue, projectQueue], log);
  }
}

/** Every round runs each scenario once, one after another; their results by scenario. */
async function runRounds(echoServer, projectServer, { echoQueue, projectQueue, brokerPid }) {
  const scenarios = [
    { label: 'raw Web-STOMP echo', server: echoServer, open: () => echoCaller(echoQueue) },
    { label: 'stomp-rpc, defaults', server: projectServer, open: () => projectCaller(projectQueue, {}) },
    {
      label: 'stomp-rpc, confirmRequests off',
      server: projectServer,
      open: () => projectCaller(projectQueue, { confirmRequests: false }),
    },
  ];
  const results = new Map(scenarios.map((scenario) => [scenario.label, []]));
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round} of ${rounds}`);
    for (const scenario of scenarios) {
      const caller = await scenario.open();
      try {
        results.get(scenario.label).push(await measure(caller, scenario.server, brokerPid));
      } finally {
        await caller.close();
      }
    }
  }
  return results;
}

function printTable(results, brokerPid) {
  const echo = median(results.get('raw Web-STOMP echo').map((r) => r.total));
  const row = (cells) => `| ${cells.join(' | ')} |`;
  const lines = [
    `${calls} sequential calls of fib(30) per scenario and round, ${rounds} rounds; µs, medians over the rounds of each round's median.`,
    '',
    row([
      'scenario',
      'call',
      'vs echo',
      'client: call to write',
      'server: data to write',
      'client: data to end',
      'broker and kernel',
      'broker CPU per call',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const [label, runs] of results) {
    const part = (key) => median(runs.map((r) => r[key]));
    const total = part('total');
    lines.push(
      row([
        label,
        total.toFixed(0),
        `${(total / echo).toFixed(2)}x`,
        part('send').toFixed(1),
        part('server').toFixed(1),
        part('receive').toFixed(1),
        part('between').toFixed(0),
        brokerPid === undefined ? 'n/a' : part('brokerCpuUs').toFixed(0),
      ]),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
