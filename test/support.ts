// Shared by the broker tests: unique queues so files and tests never see each other's requests,
// servers, clients and child processes that are always closed or killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type FibonacciClientOptions, FibonacciRpcClient, isRpcError } from '@stomp-rpc/client';
import { StompConnection } from '@stomp-rpc/client/internal';
import { fibonacciHandler, type RpcHandler, RpcServer, type RpcServerOptions } from '@stomp-rpc/server';
import amqp from 'amqplib';
import { onTestFinished } from 'vitest';
import { amqpUrl, brokerUrl, type NodeProfile, nodeProfile, rabbitmqTool } from '../scripts/broker.mjs';

/** The repository root: children run there. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WAIT_MS = 10_000;

/** The broker under test: STOMP_URL, or the project-local node STOMP_RPC_NODE selects. */
export const BROKER_URL = brokerUrl();
// Child processes (CLIs, fixtures, the tutorial's programs) reach the same broker.
process.env.STOMP_URL ??= BROKER_URL;
process.env.AMQP_URL ??= amqpUrl();

let queueCount = 0;
/** A queue name no other test uses. */
export function uniqueQueue(label: string): string {
  return `test.${label}.${process.pid}.${Date.now().toString(36)}.${queueCount++}`;
}

/** A started server on `queue`, stopped when the test ends. */
export async function startServer(
  queue: string,
  options: Partial<RpcServerOptions> & { handler?: RpcHandler } = {},
): Promise<RpcServer> {
  const server = new RpcServer({ url: BROKER_URL, queue, handler: fibonacciHandler(), ...options });
  onTestFinished(() => server.stop(1000));
  await server.start(10_000);
  return server;
}

/** A Fibonacci client on `queue`, closed when the test ends. */
export function openClient(queue: string, options: FibonacciClientOptions = {}): FibonacciRpcClient {
  const client = new FibonacciRpcClient({ url: BROKER_URL, queue, ...options });
  onTestFinished(() => client.close());
  return client;
}

/** A bare STOMP connection for sending hand-made frames, closed when the test ends. */
export async function openRawConnection(): Promise<StompConnection> {
  const connection = new StompConnection({ url: BROKER_URL });
  onTestFinished(() => connection.close());
  connection.start();
  await connection.whenConnected(10_000);
  return connection;
}

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. For state with no event to await. */
/**
 * One count of `rabbitmqctl list_queues` for `queue` on a local node, as the queue itself keeps it
 * (the management API lags by seconds); undefined when the queue is not listed.
 */
export function queueStat(node: NodeProfile, queue: string, column: 'messages' | 'consumers'): number | undefined {
  const lines = rabbitmqTool(node, 'rabbitmqctl', ['list_queues', 'name', column, '--no-table-headers', '-q']);
  for (const line of lines.split('\n')) {
    const [name, count] = line.trim().split(/\s+/);
    if (name === queue) return Number(count);
  }
  return undefined;
}

/** Messages waiting in `queue`, from an AMQP passive declare: exact and at once, unlike management stats. */
export async function queueDepth(queue: string): Promise<number> {
  const connection = await amqp.connect(amqpUrl());
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A child process whose output is collected, killed when the test ends. */
export interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once `text` has appeared on stdout; rejects after `timeoutMs` or if the child exits first. */
  waitFor: (text: string, timeoutMs?: number) => Promise<void>;
  /** Resolves with the exit code; rejects after `timeoutMs`. */
  exited: (timeoutMs?: number) => Promise<number | null>;
}

/**
 * Starts `command` in the repository root with extra environment `env`; killed when the test ends.
 * `processGroup`: as a terminal starts a program, the leader of a process group of its own (which
 * is killed as a whole). `onFinished`: a concurrent test's own `onTestFinished` (the global one
 * cannot tell concurrent tests apart).
 */
export function spawnChild(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  { processGroup = false, onFinished = onTestFinished } = {},
): Child {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: processGroup,
  });
  onFinished(() => {
    // A group's other members may outlive its leader (a program a shell left behind, say).
    if (!processGroup && (child.exitCode !== null || child.signalCode !== null)) return;
    try {
      process.kill(processGroup ? -(child.pid as number) : (child.pid as number), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
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
    `${[command, ...args].join(' ')} ${JSON.stringify(env)}\n--- stdout ---\n${stdout}--- stderr ---\n${stderr}`;

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

/** The code of the RpcError `promise` rejects with; throws when it resolves or rejects otherwise. */
export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (thrown: unknown) => thrown,
  );
  if (!isRpcError(error)) throw error;
  return error.code;
}

const MANAGEMENT = `http://127.0.0.1:${nodeProfile().ports.management}/api`;

/** The management HTTP API as the admin (guest, loopback only); throws on a refusal other than 404. */
export async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${MANAGEMENT}${path}`, {
    method,
    headers: { authorization: `Basic ${btoa('guest:guest')}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status}`);
  return response;
}
