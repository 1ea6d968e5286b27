// Issue 7: safe to expose to browsers. The users in rabbitmq-conf/definitions.json are tested, not
// assumed; broker-side limits; TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_QUEUE, FibonacciRpcClient, isRpcError, type WebSocketFactory } from '@stomp-rpc/client';
import { fibonacciHandler, RpcServer } from '@stomp-rpc/server';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { amqpUrl, nodeProfile } from '../scripts/broker.mjs';
import { openWire } from './stomp-wire.js';
import { BROKER_URL, openClient, startServer, uniqueQueue, until } from './support.js';

const BROWSER = { login: 'rpc-browser', passcode: 'rpc-browser' };
const SERVER = { login: 'rpc-server', passcode: 'rpc-server' };
const MANAGEMENT = `http://127.0.0.1:${nodeProfile().ports.management}/api`;

/** The management HTTP API as the admin (guest, loopback only). */
async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${MANAGEMENT}${path}`, {
    method,
    headers: { authorization: `Basic ${btoa('guest:guest')}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status}`);
  return response;
}

/** An AMQP operation as `user`: 'allowed', or 'refused' with RabbitMQ's 403 ACCESS_REFUSED. */
async function amqpAs(
  user: { login: string; passcode: string },
  operation: (channel: amqp.Channel) => Promise<unknown>,
) {
  const url = new URL(amqpUrl());
  url.username = user.login;
  url.password = user.passcode;
  const connection = await amqp.connect(url.href);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await operation(channel);
    return 'allowed';
  } catch (error) {
    if (/ACCESS_REFUSED|403/.test(String(error))) return 'refused';
    throw error;
  } finally {
    await connection.close().catch(() => {});
  }
}

describe('least-privilege users', () => {
  // The bundled servers and pages use rpc_queue and the rpc exchange from definitions.json.
  beforeAll(async () => {
    const server = new RpcServer({ url: BROKER_URL, ...SERVER, queue: DEFAULT_QUEUE, handler: fibonacciHandler() });
    await server.start(10_000);
    return () => server.stop(1000);
  });

  it('browser user - calls through the rpc exchange, hears presence, and gets its answer', async () => {
    const client = openClient(DEFAULT_QUEUE, { ...BROWSER, exchange: 'rpc' });
    await expect(client.call(30)).resolves.toBe(832040n);
    expect(client.servers(DEFAULT_QUEUE).length).toBeGreaterThan(0);
  });

  it('browser user - may not consume, declare, purge or delete rpc_queue', async () => {
    expect(
      await (await openWire(BROWSER.login, BROWSER.passcode)).attempt('SUBSCRIBE', {
        id: 's',
        destination: '/amq/queue/rpc_queue',
      }),
    ).toBe('refused');
    expect(
      await (await openWire(BROWSER.login, BROWSER.passcode)).attempt('SUBSCRIBE', {
        id: 's',
        destination: '/queue/rpc_queue',
      }),
    ).toBe('refused');
    expect(
      await (await openWire(BROWSER.login, BROWSER.passcode)).attempt('SEND', { destination: '/queue/rpc_queue' }, '1'),
    ).toBe('refused');
    expect(await amqpAs(BROWSER, (channel) => channel.purgeQueue(DEFAULT_QUEUE))).toBe('refused');
    expect(await amqpAs(BROWSER, (channel) => channel.deleteQueue(DEFAULT_QUEUE))).toBe('refused');
    expect(
      await amqpAs(BROWSER, (channel) => channel.checkQueue(DEFAULT_QUEUE).then(() => channel.get(DEFAULT_QUEUE))),
    ).toBe('refused');
  });

  it('browser user - may not publish anywhere but the rpc exchange and the ping topic', async () => {
    const forbidden = [
      '/amq/queue/rpc_queue', // the default exchange reaches every queue
      '/exchange/amq.direct/rpc_queue',
      '/exchange/amq.fanout/x',
      '/topic/rpc.presence', // forged announcements
      '/topic/anything.else',
    ];
    for (const destination of forbidden) {
      const wire = await openWire(BROWSER.login, BROWSER.passcode);
      expect(await wire.attempt('SEND', { destination }, '1'), destination).toBe('refused');
    }
    const allowed = await openWire(BROWSER.login, BROWSER.passcode);
    expect(await allowed.attempt('SEND', { destination: '/topic/rpc.ping', 'reply-to': '/temp-queue/p' }, '')).toBe(
      'accepted',
    );
  });

  it('browser user - may not read another client’s replies', async () => {
    // A spy server learns the victim's reply queue from its reply-to, as any server could.
    const queue = uniqueQueue('victim');
    const replyQueues: string[] = [];
    await startServer(queue, {
      handler: (request) => {
        replyQueues.push(request.headers['reply-to'] as string);
        return '1';
      },
    });
    const victim = openClient(queue);
    await victim.call(1);
    const name = (replyQueues[0] as string).replace('/reply-queue/', '');
    expect(name).toMatch(/^amq\.gen-/);
    const thief = await openWire(BROWSER.login, BROWSER.passcode);
    expect(await thief.attempt('SUBSCRIBE', { id: 's', destination: `/amq/queue/${name}` })).toBe('refused');
    await expect(victim.call(2)).resolves.toBe(1n); // and the victim is unharmed
  });

  it('server user - consumes rpc_queue, replies and announces itself, but may not publish elsewhere or consume other queues', async () => {
    const client = openClient(DEFAULT_QUEUE);
    const answer = await client.callDetailed(10);
    expect(answer.value).toBe(55n);
    expect(client.servers(DEFAULT_QUEUE).map((server) => server.id)).toContain(answer.server);
    for (const [command, headers] of [
      ['SEND', { destination: '/topic/rpc.ping' }], // only clients ping
      ['SEND', { destination: '/exchange/amq.fanout/x' }],
      ['SUBSCRIBE', { id: 's', destination: '/queue/some_other_queue' }],
    ] as const) {
      const wire = await openWire(SERVER.login, SERVER.passcode);
      expect(await wire.attempt(command, headers, ''), `${command} ${headers.destination}`).toBe('refused');
    }
  });

  it('admin user - rpc-admin operates the broker through the management API; guest is loopback-only', async () => {
    const response = await fetch(`${MANAGEMENT}/whoami`, {
      headers: { authorization: `Basic ${btoa('rpc-admin:rpc-admin')}` },
    });
    expect(await response.json()).toEqual({ name: 'rpc-admin', tags: ['administrator'] });
    const configured = readFileSync(new URL('../rabbitmq-conf/rabbitmq.conf', import.meta.url), 'utf8');
    expect(configured).toMatch(/^loopback_users\.guest = true$/m);
  });
});

describe('limits', () => {
  /** A queue capped at 5 messages with reject-publish, and a server that holds what it takes until released, then answers at once. */
  async function overloadedQueue(label: string) {
    const queue = uniqueQueue(label);
    // RabbitMQ ignores x-overflow sent as a STOMP header; only a policy sets it. Same shape as
    // rpc-queue-limits in definitions.json, smaller.
    const policy = `test-${label}-${process.pid}`;
    await management('PUT', `/policies/%2F/${policy}`, {
      pattern: `^${queue.replaceAll('.', '\\.')}$`,
      'apply-to': 'queues',
      definition: { 'max-length': 5, overflow: 'reject-publish' },
    });
    onTestFinished(async () => {
      await management('DELETE', `/policies/%2F/${policy}`);
    });
    const held: (() => void)[] = [];
    let released = false;
    await startServer(queue, {
      handler: (request) =>
        released ? request.body : new Promise<string>((resolve) => held.push(() => resolve(request.body))),
    });
    const client = openClient(queue);
    await client.ready(5000);
    await until(() => client.servers(queue).length === 1, 5000, 'the server to be known');
    const releaseAfterFirst = async () => {
      await until(() => held.length === 1, 5000, 'the server to take one request');
      await new Promise((resolve) => setTimeout(resolve, 300));
      released = true;
      for (const release of held.splice(0)) release();
    };
    const outcome = (call: Promise<unknown>) =>
      call.then(
        () => 'answered',
        (error: unknown) => (isRpcError(error) ? error.code : String(error)),
      );
    return { client, releaseAfterFirst, outcome };
  }

  it('overload - a queue full under a reject-publish policy: refused requests end with OVERLOADED, accepted ones are answered', async () => {
    const { client, releaseAfterFirst, outcome } = await overloadedQueue('overload');
    const started = Date.now();
    // Not idempotent, so a refused request is never sent again.
    const outcomes = Array.from({ length: 20 }, (_, i) =>
      outcome(client.call(i, { timeoutMs: 2000, idempotent: false })),
    );
    await releaseAfterFirst();
    const codes = await Promise.all(outcomes);
    // 1 in the server's hands + 5 in the queue are accepted; the other 14 are refused by the broker.
    expect(codes.filter((code) => code === 'OVERLOADED')).toHaveLength(14);
    expect(codes.filter((code) => code === 'answered')).toHaveLength(6);
    expect(Date.now() - started).toBeLessThan(2000 + 1500); // learned within the deadline, not never
  });

  it('overload - a refused idempotent request is sent again while unconfirmed, and answered once the queue has room', async () => {
    const { client, releaseAfterFirst, outcome } = await overloadedQueue('overload-resend');
    // 1 in the server's hands + 5 in the queue; the 7th is refused.
    const outcomes = Array.from({ length: 7 }, (_, i) => outcome(client.call(i, { timeoutMs: 8000 })));
    await releaseAfterFirst();
    // The server now answers at once, and the refused request goes again after 1 s.
    expect(await Promise.all(outcomes)).toEqual(Array(7).fill('answered'));
    expect(client.stats.resent).toBeGreaterThanOrEqual(1);
  });

  it('frames - Web-STOMP closes a connection that sends a frame above 256 KiB; fib(1,000,000) (209 KB) still fits', async () => {
    const wire = await openWire();
    expect(await wire.attempt('SEND', { destination: '/topic/frame-test' }, 'x'.repeat(200_000))).toBe('accepted');
    wire.send('SEND', { destination: '/topic/frame-test' }, 'x'.repeat(16 * 1024 * 1024));
    // 1009 "message too big", or 1006 when the broker drops the socket while the frame streams in.
    expect([1006, 1009]).toContain(await wire.closed);

    const queue = uniqueQueue('frames');
    await startServer(queue);
    const client = openClient(queue);
    expect((await client.call(1_000_000, { timeoutMs: 20_000 })).toString().length).toBe(208_988);
  });
});

describe('TLS', () => {
  // A side node with a wss:// listener and a throwaway self-signed certificate made here.
  const TLS_NODE = 9;
  const profile = nodeProfile(TLS_NODE);
  const tlsPort = profile.ports.webStomp + 1;
  const tlsUrl = `wss://127.0.0.1:${tlsPort}/ws`;
  let dir = '';
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    STOMP_RPC_NODE: String(TLS_NODE),
    STOMP_URL: '',
    ...extra,
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stomp-rpc-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const config = [
      `web_stomp.ssl.port = ${tlsPort}`,
      'web_stomp.ssl.ip = 127.0.0.1',
      `web_stomp.ssl.certfile = ${join(dir, 'cert.pem')}`,
      `web_stomp.ssl.keyfile = ${join(dir, 'key.pem')}`,
    ];
    writeFileSync(join(dir, 'tls.conf'), `${config.join('\n')}\n`);
    execFileSync(process.execPath, ['scripts/broker.mjs', 'start'], {
      env: env({ STOMP_RPC_EXTRA_CONF: join(dir, 'tls.conf') }),
      stdio: 'ignore',
      timeout: 120_000,
    });
  }, 150_000);

  afterAll(() => {
    execFileSync(process.execPath, ['scripts/broker.mjs', 'stop'], { env: env(), stdio: 'ignore', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }, 70_000);

  /** Node's ws, trusting only the throwaway certificate. */
  const trusting: WebSocketFactory = (url, protocols) =>
    new WebSocket(url, protocols, { perMessageDeflate: false, ca: readFileSync(join(dir, 'cert.pem')) }) as never;

  it('wss - a call over TLS to a server over TLS is answered', async () => {
    const queue = uniqueQueue('tls');
    const server = new RpcServer({ url: tlsUrl, webSocketFactory: trusting, queue, handler: fibonacciHandler() });
    onTestFinished(() => server.stop(1000));
    await server.start(10_000);
    const client = new FibonacciRpcClient({ url: tlsUrl, webSocketFactory: trusting, queue });
    onTestFinished(() => client.close());
    await expect(client.call(30)).resolves.toBe(832040n);
  });

  it('wss - a client that does not trust the certificate cannot connect', async () => {
    const client = new FibonacciRpcClient({ url: tlsUrl, queue: uniqueQueue('untrusted'), connectTimeoutMs: 2000 });
    onTestFinished(() => client.close());
    const error = await client.ready(3000).catch((thrown: unknown) => thrown);
    expect(isRpcError(error) && error.code).toBe('UNAVAILABLE');
    expect(String((error as Error).message)).toMatch(/certificate/i);
  });
});
