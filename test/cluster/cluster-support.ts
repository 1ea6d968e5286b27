// Helpers for the tests that run against the three-node cluster of `npm run broker:cluster`.
import { type FibonacciClientOptions, FibonacciRpcClient, isRpcError } from '@stomp-rpc/client';
import { fibonacci, fibonacciHandler, RpcServer, type RpcServerOptions } from '@stomp-rpc/server';
import { onTestFinished } from 'vitest';
import { type NodeProfile, nodePid } from '../../scripts/broker.mjs';
import { CLUSTER_NODES, clusterUrls, restartNode } from '../../scripts/cluster.mjs';

export { CLUSTER_NODES };
export const QUEUE = 'rpc_queue';

/** Every member's URL, `node`'s first: a party pinned to `node` that fails over to the others. */
export function urlsFrom(node: NodeProfile): string[] {
  const urls = clusterUrls();
  const at = CLUSTER_NODES.indexOf(node);
  return [...urls.slice(at), ...urls.slice(0, at)];
}

/** Calls the management API of a member that runs (any member sees the whole cluster). */
export async function management<T>(path: string, method = 'GET'): Promise<T> {
  const live = CLUSTER_NODES.find((node) => nodePid(node) !== undefined);
  if (!live) throw new Error('no cluster member runs');
  const response = await fetch(`http://127.0.0.1:${live.ports.management}/api${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`${method} /api${path}: ${response.status} ${await response.text()}`);
  return (method === 'GET' ? await response.json() : undefined) as T;
}

interface QuorumQueueInfo {
  type: string;
  leader: string;
  members: string[];
  online: string[];
}

/** rpc_queue as the cluster reports it: type, leader, members, online members. */
export function rpcQueueInfo(): Promise<QuorumQueueInfo> {
  return management<QuorumQueueInfo>(`/queues/%2F/${QUEUE}`);
}

/** The member that leads rpc_queue. */
export async function rpcQueueLeader(): Promise<NodeProfile> {
  const { leader } = await rpcQueueInfo();
  const node = CLUSTER_NODES.find((member) => member.name === leader);
  if (!node) throw new Error(`rpc_queue is led by ${leader}, not a member of this cluster`);
  return node;
}

/** Brings back every member a test killed, whatever the test's outcome. */
export function restartKilledMembersAfterTest(): void {
  onTestFinished(async () => {
    for (const node of CLUSTER_NODES) if (nodePid(node) === undefined) await restartNode(node);
  });
}

/** A Fibonacci server pinned to `node` (failing over to the others), stopped when the test ends. */
export async function startServerOn(node: NodeProfile, options: Partial<RpcServerOptions> = {}): Promise<RpcServer> {
  const server = new RpcServer({
    url: urlsFrom(node),
    randomizeUrls: false,
    reconnectDelayMs: 100,
    queue: QUEUE,
    queueDeclaration: 'replicated',
    handler: fibonacciHandler(),
    prefetch: 4,
    presenceMs: 500,
    ...options,
  });
  onTestFinished(() => server.stop(1000));
  await server.start(20_000);
  return server;
}

/** A Fibonacci client pinned to `node` (failing over to the others), closed when the test ends. */
export async function openClientOn(
  node: NodeProfile,
  options: FibonacciClientOptions = {},
): Promise<FibonacciRpcClient> {
  const client = new FibonacciRpcClient({
    url: urlsFrom(node),
    randomizeUrls: false,
    reconnectDelayMs: 100,
    queue: QUEUE,
    queueDeclaration: 'replicated',
    timeoutMs: 20_000,
    ...options,
  });
  onTestFinished(() => client.close());
  await client.ready(10_000);
  await client.discoverServers();
  return client;
}

export interface CallRecord {
  startedAt: number;
  endedAt: number;
  /** 'ok', 'WRONG' for a wrong value, or the error code. */
  outcome: string;
  server: string | undefined;
  /** The error's message, which says why (OVERLOADED: never confirmed; TIMEOUT: confirmed, no reply). */
  message?: string;
}

/**
 * Keeps `lanes` calls in flight on `client` until `stop()` says so (checked before every call;
 * each call has the client's deadline), checking every value. Resolves with every call's record.
 */
export async function callSteadily(
  client: FibonacciRpcClient,
  lanes: number,
  stop: () => boolean,
  idempotent = true,
): Promise<CallRecord[]> {
  const records: CallRecord[] = [];
  let next = 0;
  const lane = async () => {
    while (!stop()) {
      const n = (next++ % 80) + 1;
      const startedAt = Date.now();
      try {
        const { value, server } = await client.callDetailed(n, { idempotent });
        records.push({ startedAt, endedAt: Date.now(), outcome: value === fibonacci(n) ? 'ok' : 'WRONG', server });
      } catch (error) {
        if (!isRpcError(error)) throw error;
        records.push({
          startedAt,
          endedAt: Date.now(),
          outcome: error.code,
          server: undefined,
          message: error.message,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return records;
}

/** The calls that did not succeed, each with its error and times relative to `from` (a kill, say), to tell what happened. */
export function failures(records: readonly CallRecord[], from: number): string[] {
  return records
    .filter((record) => record.outcome !== 'ok')
    .map(
      ({ startedAt, endedAt, outcome, message }) =>
        `${outcome} (started ${startedAt - from} ms after, took ${endedAt - startedAt} ms): ${message ?? 'a wrong value'}`,
    );
}

/** How many records have each outcome, e.g. { ok: 412, CONNECTION_LOST: 4 }. */
export function tally(records: readonly CallRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of records) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
