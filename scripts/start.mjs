#!/usr/bin/env node
// `npm start`: the broker (started if none answers), two Fibonacci servers sharing rpc_queue, and
// how to call them. Ctrl-C stops the servers; the broker keeps running (`npm run broker:stop`).
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerUrl, ensureBroker, nodeProfile } from './broker.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const serverCount = 2;
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;

function startServer(name) {
  const child = spawn(process.execPath, [join(root, 'packages/server/dist/cli.js')], {
    cwd: root,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
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

async function stopAll(servers) {
  for (const { child } of servers) if (child.exitCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { child } of servers) if (child.exitCode === null) child.kill('SIGKILL');
  }, stopTimeoutMs);
  await Promise.all(servers.map((server) => server.exited));
  clearTimeout(timer);
}

async function main() {
  await ensureBroker();
  const servers = Array.from({ length: serverCount }, (_, i) => startServer(`server-${i + 1}`));
  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${why}: stopping the servers\n`);
    await stopAll(servers);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  try {
    await Promise.all(servers.map((server) => server.ready));
  } catch (error) {
    await stop('startup failed');
    throw error;
  }
  process.stdout.write(`
stomp-rpc is running
  broker   ${brokerUrl()}  (management http://127.0.0.1:${nodeProfile().ports.management}, guest/guest)
  servers  ${serverCount} on rpc_queue (pids ${servers.map((server) => server.child.pid).join(', ')})

Call them from another terminal:
  npm run client -- 30
  npm run client -- 1000

Ctrl-C stops the servers; the broker keeps running until: npm run broker:stop
`);

  // Runs until Ctrl-C, or until every server has exited on its own.
  const outcomes = await Promise.all(
    servers.map((server) =>
      server.exited.then((outcome) => {
        if (!stopping) process.stdout.write(`${outcome.name} exited (${outcome.signal ?? `code ${outcome.code}`})\n`);
        return outcome;
      }),
    ),
  );
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
