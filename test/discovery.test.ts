// Finding a server: NO_SERVERS when nobody consumes a queue (from the library and the command
// line), waiting for a late server, servers joining and leaving, and the server list.
import type { ServerInfo } from '@stomp-rpc/client';
import { SERVER_DEFAULTS } from '@stomp-rpc/server';
import { describe, expect, it } from 'vitest';
import { openClient, rejectionCode, spawnChild, startServer, uniqueQueue, until } from './support.js';

const CLIENT_CLI = 'packages/client/dist/cli.js';
const SERVER_CLI = 'packages/server/dist/cli.js';

/** The client command line as `npm run client` runs it, timed from spawn to exit. */
async function runClient(args: string[], env: Record<string, string>) {
  const started = Date.now();
  const child = spawnChild(process.execPath, [CLIENT_CLI, ...args], env);
  const status = await child.exited(20_000);
  return { status, stdout: child.stdout(), stderr: child.stderr(), elapsedMs: Date.now() - started };
}

describe('presence', () => {
  it('no servers - with the defaults, a call nothing answers ends with NO_SERVERS at its deadline, not TIMEOUT', async () => {
    const client = openClient(uniqueQueue('nobody'));
    // A deadline with room for the ping and its RECEIPT even when the broker is slow to confirm.
    const started = Date.now();
    const error = await client.call(30, { timeoutMs: 3000 }).catch((caught: unknown) => caught);
    const elapsedMs = Date.now() - started;
    expect(error).toMatchObject({ code: 'NO_SERVERS' });
    expect((error as Error).message).toMatch(/nothing answered .+ within 3000 ms and no server announced itself/);
    expect(elapsedMs).toBeGreaterThanOrEqual(2950);
    expect(elapsedMs).toBeLessThan(3000 + 1000);
    expect(client.stats).toMatchObject({ pending: 0, errors: { NO_SERVERS: 1 } });
  });

  it('no servers - with whenNoServers "fail" a fresh client fails with NO_SERVERS long before its deadline, unsent', async () => {
    const client = openClient(uniqueQueue('nobody-fast'), { whenNoServers: 'fail' });
    const started = Date.now();
    expect(await rejectionCode(client.call(30, { timeoutMs: 10_000 }))).toBe('NO_SERVERS');
    // About 0.3 s on an idle machine (connecting, then the discovery window); a loaded one may
    // restart the window when its timer fires late, so the bound is loose: half the deadline.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(client.stats).toMatchObject({ pending: 0, errors: { NO_SERVERS: 1 } });
  });

  it('no servers - the command line ends with NO_SERVERS at its deadline, at once with --fail-fast; a started server answers the next one', async () => {
    const queue = uniqueQueue('cli-nobody');
    const waited = await runClient(['--timeout-ms', '1500', '30'], { RPC_QUEUE: queue });
    expect(waited.status).toBe(1);
    expect(waited.stderr).toMatch(/^stomp-rpc-client: NO_SERVERS: nothing answered .+ within 1500 ms/);
    expect(waited.elapsedMs).toBeLessThan(1500 + 5000); // the deadline, plus starting Node (slow when loaded)
    const refused = await runClient(['--fail-fast', '30'], { RPC_QUEUE: queue });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^stomp-rpc-client: NO_SERVERS: no server announced itself for /);
    expect(refused.elapsedMs).toBeLessThan(1000 + 5000); // the discovery window, plus starting Node: not the 10 s deadline

    const server = spawnChild(process.execPath, [SERVER_CLI], { RPC_QUEUE: queue });
    await server.waitFor('awaiting RPC requests');
    const answered = await runClient(['30'], { RPC_QUEUE: queue });
    expect(answered.stdout).toContain(' [.] Got 832040');
    expect(answered.status).toBe(0);
  });

  it('no servers - with the defaults the call waits, and a server started within the deadline answers it', async () => {
    const queue = uniqueQueue('late-server');
    const client = openClient(queue);
    await client.ready(5000);
    const call = client.call(12, { timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 500)); // well past the discovery window
    await startServer(queue);
    await expect(call).resolves.toBe(144n);
  });

  it('discovery - an existing client sees a new server join, and its calls then succeed', async () => {
    const queue = uniqueQueue('join');
    const changes: ServerInfo[][] = [];
    const client = openClient(queue, { whenNoServers: 'fail', onServersChange: (servers) => changes.push(servers) });
    await client.ready(5000);
    expect(await rejectionCode(client.call(5))).toBe('NO_SERVERS');
    const server = await startServer(queue);
    await until(() => client.servers(queue).length === 1, 5000, 'the hello of the new server');
    expect(client.servers(queue)[0]).toMatchObject({ id: server.id, queue, pid: process.pid });
    expect(changes.at(-1)?.map((info) => info.id)).toContain(server.id);
    await expect(client.call(5)).resolves.toBe(5n);
  });

  it('discovery - the server list shows every running server with live counts; a stopped one leaves at once, a killed one within a few beats', async () => {
    const queue = uniqueQueue('list');
    const beatMs = 200;
    // Slower beats for the one that stops: expiry would take 3 s, so a leave within 2 s is its bye.
    const stoppedBeatMs = 1000;
    const stopped = await startServer(queue, { presenceMs: stoppedBeatMs, id: 'stopped-one' });
    const killed = spawnChild(process.execPath, [SERVER_CLI, '--presence-ms', String(beatMs)], { RPC_QUEUE: queue });
    await killed.waitFor('awaiting RPC requests');

    const client = openClient(queue, { watchServers: true });
    // Long enough for both to answer the ping on a loaded machine, or else to beat once.
    const found = await client.discoverServers(stoppedBeatMs, queue);
    expect(found.map((server) => server.id)).toContain('stopped-one');
    expect(found).toHaveLength(2);

    await Promise.all(Array.from({ length: 40 }, (_, i) => client.call(i)));
    await until(
      () => client.servers(queue).reduce((sum, server) => sum + server.stats.requests, 0) === 40,
      5000,
      'the beats to report all 40 requests',
    );
    for (const server of client.servers(queue)) {
      expect(server.stats.latency.count).toBe(server.stats.requests);
      const beat = server.id === 'stopped-one' ? stoppedBeatMs : beatMs;
      expect(server).toMatchObject({ inFlight: 0, prefetch: SERVER_DEFAULTS.prefetch, beatMs: beat });
    }

    const listing = await runClient(['--servers'], { RPC_QUEUE: queue });
    expect(listing.status).toBe(0);
    expect(listing.stdout).toMatch(
      /^ID +QUEUE +HOST +PID +VERSION +PREFETCH +IN FLIGHT +REQUESTS +ERRORS +AVG MS +P99 MS +UP\n/,
    );
    expect(listing.stdout).toMatch(new RegExp(`^stopped-one +${queue.replaceAll('.', '\\.')} `, 'm'));
    // The CLI serves the Fibonacci service: its procedures get rows of their own.
    const cliServer = client.servers(queue).find((server) => server.id !== 'stopped-one');
    const fibRequests = cliServer?.stats.procedures?.fib?.requests;
    expect(fibRequests).toBe(cliServer?.stats.requests);
    expect(listing.stdout).toMatch(/^ID +PROCEDURE +REQUESTS +ERRORS +CANCELLED +AVG MS\n/m);
    expect(listing.stdout).toMatch(new RegExp(`^${cliServer?.id} +fib +${fibRequests} +0 +0 +\\d`, 'm'));

    await stopped.stop(1000);
    // The bye crosses the broker on another connection, so it may land just after stop() resolves;
    // within 2 s it is the bye, not expiry (three missed beats, 3 s, plus the once-a-second check).
    await until(() => client.servers(queue).length === 1, 2000, 'the bye of the stopped server');
    expect(client.servers(queue).map((server) => server.id)).not.toContain('stopped-one');

    const killedAt = Date.now();
    killed.process.kill('SIGKILL');
    await until(() => client.servers(queue).length === 0, 5000, 'the killed server to be forgotten');
    // Gone after three missed beats (600 ms), noticed by the once-a-second check (late on a loaded
    // machine, hence the slack): seconds, where a server that never says goodbye would stay.
    expect(Date.now() - killedAt).toBeLessThan(3 * beatMs + 3000);
    expect(await rejectionCode(client.call(1, { timeoutMs: 1000 }))).toBe('NO_SERVERS'); // nothing answers any more
  });
});
