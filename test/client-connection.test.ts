// The client's connection to the broker: let in once the vhost has room, dropped and rejoined when
// the broker falls silent, and carrying idempotent calls across a broker restart. (Kept open while
// idle: test/browser/idle-connections.test.ts, alongside the pages that wait as long.)
import { StompConnection } from '@stomp-rpc/client/internal';
import { queueDeclarationHeaders, queueDestination } from '@stomp-rpc/client/protocol';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freezeLocalBroker, nodeProfile, restartLocalBroker } from '../scripts/broker.mjs';
import { BROKER_URL, management, openClient, rejectionCode, startServer, uniqueQueue, until } from './support.js';

describe('connection limits', () => {
  /** The management API of the broker under test, as guest (loopback only). */
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${nodeProfile().ports.management}/api${path}`, {
      method,
      headers: { authorization: `Basic ${btoa('guest:guest')}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('vhost limit - a client the broker turns away at the connection limit gets in once a connection frees up, not UNAUTHENTICATED', async () => {
    const vhost = encodeURIComponent(`stomp-rpc-limited-${process.pid}`);
    expect((await api('PUT', `/vhosts/${vhost}`)).ok).toBe(true);
    onTestFinished(async () => void (await api('DELETE', `/vhosts/${vhost}`)));
    expect((await api('PUT', `/permissions/${vhost}/guest`, { configure: '.*', write: '.*', read: '.*' })).ok).toBe(
      true,
    );
    expect((await api('PUT', `/vhost-limits/${vhost}/max-connections`, { value: 1 })).ok).toBe(true);
    // A refusal of the vhost is final only once it has gone on for 10 s; the first closes at once.
    const options = {
      url: BROKER_URL,
      vhost: decodeURIComponent(vhost),
      reconnectDelayMs: 1000,
      maxReconnectDelayMs: 2000,
    };
    const first = new StompConnection(options);
    onTestFinished(() => first.close());
    first.start();
    await first.whenConnected(10_000);
    const frames: string[] = [];
    const second = new StompConnection({ ...options, debug: (line) => frames.push(line) });
    onTestFinished(() => second.close());
    second.start();
    const outcome = second.whenConnected(20_000).then(
      () => 'connected',
      (error: { code?: string }) => error.code,
    );
    await until(() => frames.some((line) => line.startsWith('<<< ERROR')), 10_000, 'the broker to turn it away');
    // RabbitMQ's answer at the limit is the one for a user without access to the vhost.
    expect(second.lastError).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('access denied') });
    await first.close();
    expect(await outcome).toBe('connected');
  }, 40_000);
});

describe('login', () => {
  it('login - a login and passcode with backslashes, a colon and a line break get in: RabbitMQ reads escapes in CONNECT too', async () => {
    const login = `CORP\\rpc-test-${process.pid}`; // a Windows domain user
    const passcode = 'C:\\new\\passw\\ord\n2';
    const user = encodeURIComponent(login);
    await management('PUT', `/users/${user}`, { password: passcode, tags: '' });
    onTestFinished(async () => void (await management('DELETE', `/users/${user}`)));
    await management('PUT', `/permissions/%2F/${user}`, { configure: '', write: '', read: '' });
    const connection = new StompConnection({ url: BROKER_URL, login, passcode, maxReconnectDelayMs: 500 });
    onTestFinished(() => connection.close());
    connection.start();
    await connection.whenConnected(10_000);
    expect(connection.state).toBe('connected');
  });
});

describe('silent broker', () => {
  it('heartbeat - a broker that stops answering is dropped after two missed beats, then rejoined', async () => {
    const queue = uniqueQueue('frozen');
    await startServer(queue, { maxReconnectDelayMs: 500 });
    const reasons: string[] = [];
    const client = openClient(queue, {
      heartbeatMs: 500,
      maxReconnectDelayMs: 500,
      connectTimeoutMs: 1000,
      onStateChange: (state, reason) => {
        if (state === 'reconnecting') reasons.push(`${reason?.code}: ${reason?.message}`);
      },
    });
    await client.ready(5000);
    // RabbitMQ beats in whole seconds (it answers heart-beat:1000 to our 500), and stompjs checks
    // once per beat, dropping after two beats of silence: noticed 2 to 3 s into the freeze.
    await freezeLocalBroker(4500);
    expect(reasons[0]).toMatch(/^CONNECTION_LOST: no heart-beat from ws:/);
    await expect(client.call(20, { timeoutMs: 15_000 })).resolves.toBe(6765n);
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
  });
});

describe('broker restart', () => {
  it('restart - idempotent calls in flight complete after the reconnect; others get CONNECTION_LOST', async () => {
    const queue = uniqueQueue('restart');
    let open = false;
    const held: (() => void)[] = [];
    // The first two requests wait here until the restart is over, so both calls are in flight when
    // it happens. Only those: the re-sent one may come back before restartLocalBroker() returns.
    const server = await startServer(queue, {
      prefetch: 2,
      maxReconnectDelayMs: 500,
      handler: (request) =>
        open || held.length >= 2
          ? String(Number(request.body) * 2)
          : new Promise<string>((resolve) => held.push(() => resolve(String(Number(request.body) * 2)))),
    });
    onTestFinished(() => {
      for (const release of held) release();
    });
    const states: string[] = [];
    const client = openClient(queue, { maxReconnectDelayMs: 500, onStateChange: (state) => states.push(state) });
    const generic = client.request(queueDestination(queue), '21', {
      headers: queueDeclarationHeaders(),
      timeoutMs: 30_000,
      idempotent: true,
    });
    const notIdempotent = rejectionCode(
      client.request(queueDestination(queue), '4', { headers: queueDeclarationHeaders(), timeoutMs: 30_000 }),
    );
    await until(() => held.length === 2, 5000, 'both requests to reach the server');

    const restarted = restartLocalBroker();
    // A restart that fails says so at once, rather than as a client that never lost its connection.
    await Promise.race([
      until(() => states.includes('reconnecting'), 30_000, 'the client to lose its connection'),
      restarted,
    ]);
    // Made while the client is reconnecting: it goes out once the client is back. The server it
    // knew still counts as live (it could not hear the beats meanwhile), so this is not NO_SERVERS.
    const madeWhileReconnecting = client.call(7, { timeoutMs: 30_000 });
    await restarted;
    open = true;

    expect(await madeWhileReconnecting).toBe(14n); // this test’s handler doubles n
    expect(await notIdempotent).toBe('CONNECTION_LOST');
    expect((await generic).body).toBe('42');
    expect(states[0]).toBe('connected');
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
    expect(client.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(client.stats.resent).toBeGreaterThanOrEqual(1);
    // The two deliveries from before the restart, finishing now, belong to a dead connection:
    // the server neither replies to nor ACKs them. Only the re-sent request counted as answered.
    for (const release of held) release();
    await until(() => server.stats.inFlight === 0, 5000, 'the held requests to finish');
    expect(server.stats.succeeded).toBe(2);
    await expect(client.call(10)).resolves.toBe(20n);
    expect(server.stats).toMatchObject({ succeeded: 3 });
    expect(server.stats.reconnects).toBeGreaterThanOrEqual(1);
  }, 90_000); // the restart alone takes 10 to 20 s on a loaded machine, and the calls wait up to 30 s
});
