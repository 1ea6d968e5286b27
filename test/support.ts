// Shared by the broker tests: unique queues so files and tests never see each other's requests,
// and servers and clients that are always closed.
import { type FibonacciClientOptions, FibonacciRpcClient, StompConnection } from '@stomp-rpc/client';
import { fibonacciHandler, type RpcHandler, RpcServer, type RpcServerOptions } from '@stomp-rpc/server';
import { onTestFinished } from 'vitest';

export const BROKER_URL = process.env.STOMP_URL?.split(',')[0] ?? 'ws://127.0.0.1:15674/ws';

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

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
