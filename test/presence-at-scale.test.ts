// Presence with many clients (issue 16): a connect storm gets no false NO_SERVERS, and idle
// clients cost the broker (almost) nothing. Two CLI servers in their own processes, as deployed.
import { type FibonacciClientOptions, type FibonacciRpcClient, isRpcError } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { nodeProfile } from '../scripts/broker.mjs';
import { openClient, ROOT, spawnChild, uniqueQueue } from './support.js';

const SERVER_CLI = `${ROOT}packages/server/dist/cli.js`;
const CLIENTS = 300;
/** The bound for 300 idle clients and 2 servers: deliveries per second, all queues. */
const IDLE_DELIVERIES_PER_S = 30;
const MANAGEMENT = `http://127.0.0.1:${nodeProfile().ports.management}/api/overview`;
const ADMIN = `Basic ${Buffer.from('rpc-admin:rpc-admin').toString('base64')}`;

async function startTwoServers(queue: string): Promise<void> {
  const servers = [0, 1].map(() => spawnChild(process.execPath, [SERVER_CLI], { RPC_QUEUE: queue }));
  await Promise.all(servers.map((server) => server.waitFor('awaiting RPC requests')));
}

/** 300 clients created at once, each calling fib(10) at once; resolves with each call's outcome. */
async function storm(
  queue: string,
  options: FibonacciClientOptions,
): Promise<{ clients: FibonacciRpcClient[]; outcomes: string[] }> {
  const clients = Array.from({ length: CLIENTS }, () => openClient(queue, { timeoutMs: 20_000, ...options }));
  const outcomes = await Promise.all(
    clients.map((client) =>
      client.call(10).then(
        (value) => (value === 55n ? 'ok' : `wrong ${value}`),
        (error: unknown) => (isRpcError(error) ? error.code : String(error)),
      ),
    ),
  );
  return { clients, outcomes };
}

function tally(outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** The node's deliveries (to every consumer of every queue) per second over `ms`, from the management API. */
async function deliveriesPerSecond(ms: number): Promise<number> {
  const read = async () => {
    const response = await fetch(MANAGEMENT, { headers: { authorization: ADMIN } });
    expect(response.status).toBe(200);
    const overview = (await response.json()) as { message_stats?: { deliver_get?: number } };
    return overview.message_stats?.deliver_get ?? 0;
  };
  // The node publishes its counters every 5 s: let what came before (the storm) be counted first,
  // waiting two periods, since a loaded node may publish one late.
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  const before = await read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const perSecond = ((await read()) - before) / (ms / 1000);
  console.info(`broker deliveries: ${perSecond.toFixed(1)}/s over ${ms} ms`);
  return perSecond;
}

describe('presence at scale', () => {
  it(`storm - ${CLIENTS} clients connecting and calling at once get their answers, none NO_SERVERS; then idle they cost almost nothing`, async () => {
    const queue = uniqueQueue('storm');
    await startTwoServers(queue);

    const { outcomes } = await storm(queue, {});
    expect(tally(outcomes)).toEqual({ ok: CLIENTS });

    // Idle, these 300 default clients listen to nothing: the servers' beats reach no one.
    const idle = await deliveriesPerSecond(10_000);
    expect(idle).toBeLessThanOrEqual(IDLE_DELIVERIES_PER_S);
  }, 90_000);

  it(`storm - ${CLIENTS} clients that watch the servers get their answers too, and pay for it: every beat reaches each of them`, async () => {
    const queue = uniqueQueue('storm-watch');
    await startTwoServers(queue);

    const { outcomes } = await storm(queue, { watchServers: true });
    expect(tally(outcomes)).toEqual({ ok: CLIENTS });

    // The measurement sees presence: 300 watching clients hear 2 servers beat every 2 s (300/s).
    const watching = await deliveriesPerSecond(10_000);
    expect(watching).toBeGreaterThan(150);
  }, 90_000);
});
