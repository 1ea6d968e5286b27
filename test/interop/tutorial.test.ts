// The tutorial's own programs (RabbitMQ tutorial six, in Python/pika and Node/amqplib, speaking
// AMQP 0-9-1) and ours (speaking STOMP over WebSocket) answer each other on the same broker, in
// both directions. Every test uses its own queue, so tutorial servers never see other tests'
// requests.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openClient, startServer, uniqueQueue } from '../support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
const WAIT_MS = 10_000;

interface Program {
  command: string;
  server: string;
  client: string;
}

const PIKA: Program = {
  command: PYTHON,
  server: 'test/interop/tutorial/rpc_server.py',
  client: 'test/interop/tutorial/rpc_client.py',
};
const AMQPLIB: Program = {
  command: process.execPath,
  server: 'test/interop/tutorial/rpc_server.mjs',
  client: 'test/interop/tutorial/rpc_client.mjs',
};

/** A child process whose output is collected, killed when the test ends. */
interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once `text` has appeared on stdout; rejects after `timeoutMs` or if the child exits first. */
  waitFor: (text: string, timeoutMs?: number) => Promise<void>;
  /** Resolves with the exit code; rejects after `timeoutMs`. */
  exited: (timeoutMs?: number) => Promise<number | null>;
}

function run(command: string, args: string[], queue: string): Child {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, RPC_QUEUE: queue, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  exit.catch(() => {}); // observed through waitFor/exited
  const describeChild = () =>
    `${[command, ...args].join(' ')} (RPC_QUEUE=${queue})\n--- stdout ---\n${stdout}--- stderr ---\n${stderr}`;

  const bounded = <T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms ${what}: ${describeChild()}`)),
        timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (text, timeoutMs = WAIT_MS) => {
      const appeared = new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!stdout.includes(text)) return;
          child.stdout.off('data', check);
          resolve();
        };
        child.stdout.on('data', check);
        check();
        exit.then(
          (code) =>
            reject(new Error(`exited with ${code} before printing ${JSON.stringify(text)}: ${describeChild()}`)),
          reject,
        );
      });
      return bounded(appeared, timeoutMs, `waiting for ${JSON.stringify(text)}`);
    },
    exited: (timeoutMs = WAIT_MS + 5_000) => bounded(exit, timeoutMs, 'waiting for the exit'),
  };
}

describe('interop', () => {
  for (const [name, program] of [
    ['pika', PIKA],
    ['amqplib', AMQPLIB],
  ] as const) {
    it(`interop - the tutorial's ${name} server answers our client`, async () => {
      const queue = uniqueQueue(`interop-${name}-server`);
      const server = run(program.command, [program.server], queue);
      await server.waitFor(' [x] Awaiting RPC requests');
      const client = openClient(queue);
      await expect(client.call(20)).resolves.toBe(6765n);
      expect(server.stdout()).toContain(' [.] fib(20)');
    });

    it(`interop - our server answers the tutorial's ${name} client`, async () => {
      const queue = uniqueQueue(`interop-${name}-client`);
      // start() resolves once the broker confirms the subscription, so the queue exists.
      const server = await startServer(queue);
      const client = run(program.command, [program.client, '30'], queue);
      const code = await client.exited();
      expect(code, `exit code; stdout:\n${client.stdout()}stderr:\n${client.stderr()}`).toBe(0);
      expect(client.stdout()).toContain(' [x] Requesting fib(30)');
      expect(client.stdout()).toContain(' [.] Got 832040');
      expect(server.stats).toMatchObject({ received: 1, succeeded: 1, dropped: 0 });
    });
  }
});
