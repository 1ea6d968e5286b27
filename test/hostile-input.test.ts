// Hostile input against a running server (a child process, as deployed). Each case is
// bounded; throughout, valid calls keep being answered and the server's memory stays bounded.
import { readFileSync } from 'node:fs';
import { PING_TOPIC, queueDeclarationHeaders } from '@stomp-rpc/client/protocol';
import { describe, expect, it } from 'vitest';
import { type Frame, openWire } from './stomp-wire.js';
import { openClient, spawnChild, uniqueQueue, until } from './support.js';

const SERVER_CLI = 'packages/server/dist/cli.js';

function residentMiB(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) / 1024;
}

function fib(n: number): bigint {
  let [a, b] = [0n, 1n];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

// Every one of these bodies is answered with INVALID_ARGUMENT, never with a number.
const BAD_BODIES: [string, string | Buffer][] = [
  ['empty', ''],
  ['one byte of garbage', 'x'],
  ['text', 'thirty'],
  ['binary with NUL bytes', Buffer.from([0, 1, 2, 0xff, 0xfe, 0])],
  ['invalid UTF-8', Buffer.from([0xc3, 0x28, 0xa0, 0xa1])],
  ['minus sign', '-1'],
  ['plus sign', '+1'],
  ['exponent', '1e3'],
  ['hex', '0x1f'],
  ['leading zeros', '007'],
  ['decimal point', '30.0'],
  ['Arabic-Indic digit', '\u0663'],
  ['fullwidth digits', '\uff13\uff10'],
  ['leading space', ' 30'],
  ['trailing space', '30 '],
  ['trailing newline', '30\n'],
  ['tab', '\t30'],
  ['JSON object', '{"n":30}'],
  ['JSON array', '[30]'],
  ['JSON string', '"30"'],
  ['NaN', 'NaN'],
  ['Infinity', 'Infinity'],
  ['n above the maximum', '1000001'],
  ['a 4096-digit n', '9'.repeat(4096)],
  ['4 KiB + 1 body', '1'.repeat(4097)],
  ['200 KB body', 'x'.repeat(200_000)],
];

describe('hostile input', () => {
  it('battery - bad bodies and headers get a clear error or are dropped; nothing is sent but to reply queues; valid calls go on; memory stays bounded', async () => {
    const queue = uniqueQueue('hostile');
    const server = spawnChild(process.execPath, [SERVER_CLI, '--prefetch', '10', '--presence-ms', '200'], {
      RPC_QUEUE: queue,
    });
    await server.waitFor('awaiting RPC requests');
    const pid = server.process.pid as number;
    const client = openClient(queue, { watchServers: true });
    await client.ready(5000);
    const residentBefore = residentMiB(pid);

    // Valid calls all through the battery.
    let battering = true;
    const validCalls = (async () => {
      let made = 0;
      while (battering && made < 5000) {
        const n = made % 90;
        const answer = await client.call(n).catch((error: unknown) => error);
        if (answer !== fib(n)) return `fib(${n}) gave ${String(answer)}`;
        made++;
      }
      return made;
    })();

    // Anything the server publishes outside a reply queue would show up here.
    const watcher = await openWire();
    expect(await watcher.attempt('SUBSCRIBE', { id: 'topic', destination: '/topic/x' })).toBe('accepted');
    expect(await watcher.attempt('SUBSCRIBE', { id: 'direct', destination: '/exchange/amq.direct/x' })).toBe(
      'accepted',
    );

    const hostile = await openWire();
    const declare = queueDeclarationHeaders();
    const request = (headers: [string, string][], body: string | Buffer) =>
      hostile.send('SEND', [['destination', `/queue/${queue}`], ...Object.entries(declare), ...headers], body);
    const replyTo: [string, string] = ['reply-to', '/temp-queue/hostile'];
    const replyFor = (correlationId: string) =>
      hostile.next((frame) => frame.command === 'MESSAGE' && frame.headers['correlation-id'] === correlationId, 10_000);

    for (const [name, body] of BAD_BODIES) request([replyTo, ['correlation-id', `bad-${name}`]], body);
    for (const [name] of BAD_BODIES) {
      const reply = await replyFor(`bad-${name}`);
      expect(reply.headers['rpc-error-code'], name).toBe('INVALID_ARGUMENT');
      expect(reply.body.toString().length, name).toBeGreaterThan(0);
    }

    // Headers: duplicates (STOMP 1.2: the first wins), a huge unrelated header, a huge
    // correlation-id (dropped, not echoed), none at all (dropped).
    request([replyTo, ['correlation-id', 'first'], ['correlation-id', 'second']], '10');
    expect((await replyFor('first')).body.toString()).toBe('55');
    request([replyTo, ['correlation-id', 'long-header'], ['x-junk', 'j'.repeat(100_000)]], '11');
    expect((await replyFor('long-header')).body.toString()).toBe('89');
    request([replyTo, ['correlation-id', 'c'.repeat(10_000)]], '12');
    request([replyTo], '13');
    // reply-to aimed at the request queue, a topic, an exchange, a named queue: dropped.
    for (const target of [queue, `/queue/${queue}`, '/topic/x', '/exchange/amq.direct/x', '/queue/x', '/amq/queue/x']) {
      request(
        [
          ['reply-to', target],
          ['correlation-id', `aimed-${target}`],
        ],
        '5',
      );
    }
    const droppedHeaders = 2 + 6;
    await until(
      () => (client.servers(queue)[0]?.stats.dropped ?? 0) >= droppedHeaders,
      5000,
      'the server to report the dropped requests',
    );
    expect(client.servers(queue)[0]?.stats.dropped).toBe(droppedHeaders);

    // Another client's reply queue: the reply lands there, and that client drops it as unknown.
    const victim = await openWire();
    victim.send(
      'SEND',
      { destination: `/queue/${queue}`, ...declare, 'reply-to': '/temp-queue/v', 'correlation-id': 'mine' },
      '1',
    );
    // A reply's destination header names the queue it came through: /queue/amq.gen-...
    const victimQueue = (await victim.next((frame) => frame.headers['correlation-id'] === 'mine')).headers.destination;
    expect(victimQueue).toMatch(/^\/queue\/amq\.gen-/);
    request(
      [
        ['reply-to', `/reply-queue/${victimQueue?.slice('/queue/'.length)}`],
        ['correlation-id', 'not-yours'],
      ],
      '3',
    );
    expect((await victim.next((frame) => frame.headers['correlation-id'] === 'not-yours')).body.toString()).toBe('2');

    // Faster than the server answers: 3,000 requests at once; every one is answered.
    for (let i = 0; i < 3000; i++) request([replyTo, ['correlation-id', `flood-${i}`]], String(i % 1000));
    await hostile.next((frame) => frame.headers['correlation-id'] === 'flood-2999', 30_000);
    const floodReplies = hostile.frames.filter((frame: Frame) => frame.headers['correlation-id']?.startsWith('flood-'));
    expect(floodReplies).toHaveLength(3000);

    // A 16 MiB frame: the broker closes that connection (frame limit); the server never sees it.
    const huge = await openWire();
    huge.send(
      'SEND',
      { destination: `/queue/${queue}`, ...declare, 'reply-to': '/temp-queue/h', 'correlation-id': 'huge' },
      'x'.repeat(16 << 20),
    );
    await huge.closed;

    battering = false;
    expect(await validCalls).toBeGreaterThan(10);
    await expect(client.call(80)).resolves.toBe(fib(80));
    expect(server.process.exitCode).toBeNull();
    expect(watcher.frames.filter((frame) => frame.command === 'MESSAGE')).toEqual([]);
    expect(residentMiB(pid) - residentBefore).toBeLessThan(64);
  }, 90_000);

  it('a forged Direct Reply-to address, in a request or a ping: dropped, and the server stays connected', async () => {
    // RabbitMQ before 4.1 crashes the publishing channel on an amq.rabbitmq.reply-to.* address it
    // cannot decode, or whose node it does not know: a server replying there would lose its
    // connection, and the request, redelivered, would take down every server in turn.
    const queue = uniqueQueue('forged');
    const server = spawnChild(process.execPath, [SERVER_CLI, '--presence-ms', '200'], { RPC_QUEUE: queue });
    await server.waitFor('awaiting RPC requests');
    const client = openClient(queue, { watchServers: true });
    await client.ready(5000);
    await until(() => client.servers(queue).length === 1, 5000, 'the server to announce itself');

    const hostile = await openWire();
    const forged = ['amq.rabbitmq.reply-to.AAAA.x', 'amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxNjI3.key'];
    for (const [i, address] of forged.entries()) {
      hostile.send(
        'SEND',
        {
          destination: `/queue/${queue}`,
          ...queueDeclarationHeaders(),
          'reply-to': address,
          'correlation-id': `f${i}`,
        },
        '5',
      );
      hostile.send('SEND', { destination: PING_TOPIC, 'reply-to': address }, '');
    }
    await expect(client.call(20)).resolves.toBe(fib(20));
    await until(
      () => (client.servers(queue)[0]?.stats.dropped ?? 0) >= forged.length,
      5000,
      `the server to report the dropped requests: ${server.stdout()}${server.stderr()}`,
    );
    expect(server.stdout() + server.stderr()).not.toContain('connection lost');
    expect(client.servers(queue)[0]?.stats.dropped).toBe(forged.length);
  }, 30_000);
});
