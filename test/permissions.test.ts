// Safe to expose to browsers: the users in rabbitmq-conf/definitions.json are tested by logging
// in as them, not assumed.
import { readFileSync } from 'node:fs';
import { DEFAULT_QUEUE } from '@stomp-rpc/client';
import { fibonacciHandler, RpcServer } from '@stomp-rpc/server';
import amqp from 'amqplib';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { amqpUrl, nodeProfile } from '../scripts/broker.mjs';
import { openWire } from './stomp-wire.js';
import { BROKER_URL, management, openClient, ROOT, spawnChild, startServer, uniqueQueue, until } from './support.js';

const BROWSER = { login: 'rpc-browser', passcode: 'rpc-browser' };
const SERVER = { login: 'rpc-server', passcode: 'rpc-server' };
const MANAGEMENT = `http://127.0.0.1:${nodeProfile().ports.management}/api`;
/** Users of an earlier run of the test below that did not get to remove them (killed, say). */
async function removeLeftoverUsers(): Promise<void> {
  const users = (await (await management('GET', '/users?columns=name')).json()) as { name: string }[];
  for (const { name } of users) {
    if (/^rpc-test-(server|client)-\d+$/.test(name)) await management('DELETE', `/users/${encodeURIComponent(name)}`);
  }
}

/**
 * A broker user for this test only, removed when it ends: `permissions` on the vhost, and on
 * amq.topic only the routing keys `topic` names (a user with no topic permission may use every key).
 */
async function temporaryUser(
  name: string,
  permissions: { configure: string; write: string; read: string },
  topic: { write: string; read: string },
): Promise<{ login: string; passcode: string }> {
  const login = `${name}-${process.pid}`;
  await management('PUT', `/users/${login}`, { password: login, tags: '' });
  onTestFinished(async () => void (await management('DELETE', `/users/${login}`)));
  await management('PUT', `/permissions/%2F/${login}`, permissions);
  await management('PUT', `/topic-permissions/%2F/${login}`, { exchange: 'amq.topic', ...topic });
  return { login, passcode: login };
}

/** A queue as the management API lists it, once it lists its policy too (it lists a new queue, or one on a node just booted, before its policy). */
async function withPolicy(name: string): Promise<{ policy?: string | null }> {
  let queue: { policy?: string | null } = {};
  await until(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      queue = await (await management('GET', `/queues/%2F/${encodeURIComponent(name)}`)).json();
      return typeof queue.policy === 'string';
    },
    10_000,
    `${name}, listed with a policy`,
  );
  return queue;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
    const client = openClient(DEFAULT_QUEUE, { ...BROWSER, exchange: 'rpc', watchServers: true });
    await expect(client.call(30)).resolves.toBe(832040n);
    // Presence comes on its own topic: the reply may come first (seen once in CI, 44 ms in).
    await until(() => client.servers(DEFAULT_QUEUE).length > 0, 5000, 'the server’s announcement or pong');
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

  it('browser user - the broker refuses a message over 256 KiB on AMQP too, where no WebSocket frame limit applies', async () => {
    // A server reads a whole frame before it can refuse its body: a 100 MiB request published over
    // AMQP would block it for seconds, or exhaust its heap, on every redelivery.
    const url = new URL(amqpUrl());
    url.username = BROWSER.login;
    url.password = BROWSER.passcode;
    const connection = await amqp.connect(url.href);
    try {
      const publish = async (bytes: number) => {
        const channel = await connection.createConfirmChannel();
        const refused = new Promise<string>((resolve) => channel.on('error', (error) => resolve(String(error))));
        const confirmed = new Promise<string>((resolve) =>
          channel.publish('rpc', 'no-such-queue', Buffer.alloc(bytes, '1'), {}, (error) =>
            resolve(error ? 'nacked' : 'accepted'),
          ),
        );
        return Promise.race([refused, confirmed]);
      };
      expect(await publish(200_000)).toBe('accepted');
      expect(await publish(1 << 20)).toMatch(/PRECONDITION_FAILED.*larger than configured max size/);
    } finally {
      await connection.close().catch(() => {});
    }
  });

  it('browser user - may not publish anywhere but the rpc exchange: not to amq.topic at all, pings and cancels included', async () => {
    const forbidden = [
      '/amq/queue/rpc_queue', // the default exchange reaches every queue
      '/exchange/amq.direct/rpc_queue',
      '/exchange/amq.fanout/x',
      '/topic/rpc.presence', // forged announcements
      '/topic/rpc.ping', // these two go through rpc (below)
      '/topic/rpc.cancel',
      '/topic/anything.else',
    ];
    for (const destination of forbidden) {
      const wire = await openWire(BROWSER.login, BROWSER.passcode);
      expect(await wire.attempt('SEND', { destination }, '1'), destination).toBe('refused');
    }
    const allowed = await openWire(BROWSER.login, BROWSER.passcode);
    const ping = { destination: '/exchange/rpc/rpc.ping', 'reply-to': '/temp-queue/p' };
    expect(await allowed.attempt('SEND', ping, '')).toBe('accepted');
    // rpc routes the ping on to amq.topic, where the server listens: its answer comes back.
    await allowed.next((frame) => frame.command === 'MESSAGE' && frame.headers['rpc-presence'] === 'pong', 5000);
  });

  // Regression, found by a review and seen on 3.10.8: with write access to amq.topic, a page
  // subscribed to the presence topic with `x-dead-letter-exchange: amq.topic`, and each
  // announcement it rejected was published on rpc.presence again, to every client, its own
  // queue included: a server's `bye`, replayed at will, took a live server out of every list.
  it("browser user - cannot replay the servers' announcements through a dead-letter exchange", async () => {
    const subscription = (deadLetterExchange: string) => ({
      id: 'a',
      destination: '/topic/rpc.presence',
      ack: 'client-individual',
      'x-dead-letter-exchange': deadLetterExchange,
    });
    const replayer = await openWire(BROWSER.login, BROWSER.passcode);
    expect(await replayer.attempt('SUBSCRIBE', subscription('amq.topic'))).toBe('refused');
    // Through rpc, the one exchange it may name, an announcement it rejects goes nowhere.
    const listener = await openWire(BROWSER.login, BROWSER.passcode);
    expect(await listener.attempt('SUBSCRIBE', { id: 'l', destination: '/topic/rpc.presence' })).toBe('accepted');
    const rejecter = await openWire(BROWSER.login, BROWSER.passcode);
    expect(await rejecter.attempt('SUBSCRIBE', subscription('rpc'))).toBe('accepted');
    const announcer = await openWire(SERVER.login, SERVER.passcode);
    const marker = `replay-test-${process.pid}-${Date.now()}`;
    announcer.send('SEND', { destination: '/topic/rpc.presence' }, marker);
    const isMarker = (frame: { command: string; body: Buffer | string }) =>
      frame.command === 'MESSAGE' && String(frame.body) === marker;
    const held = await rejecter.next(isMarker, 5000);
    await listener.next(isMarker, 5000);
    rejecter.send('NACK', { id: held.headers.ack as string, requeue: 'false' });
    // A RECEIPT for a later frame: the broker has handled the NACK.
    expect(await rejecter.attempt('SEND', { destination: '/exchange/rpc/no-such-key' }, '')).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(listener.frames.filter(isMarker)).toHaveLength(1);
    expect(rejecter.frames.filter(isMarker)).toHaveLength(1);
  });

  it('browser user - over AMQP, may not bind an exchange of its own into amq.topic to publish presence through it', async () => {
    const own = `stomp-subscription-test-${process.pid}`; // its configure right covers this name
    onTestFinished(async () => void (await amqpAs(BROWSER, (channel) => channel.deleteExchange(own))));
    expect(await amqpAs(BROWSER, (channel) => channel.assertExchange(own, 'topic', { durable: false }))).toBe(
      'allowed',
    );
    expect(await amqpAs(BROWSER, (channel) => channel.bindExchange('amq.topic', own, 'rpc.presence'))).toBe('refused');
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

  it('rpc_queue as the tutorial declares it (a classic queue) gets its limits: a policy with a key its type does not support would not apply at all', async () => {
    expect(await withPolicy(DEFAULT_QUEUE)).toMatchObject({
      type: 'classic',
      policy: 'rpc-queue-limits',
      effective_policy_definition: {
        'max-length': 10000,
        overflow: 'reject-publish',
        'message-ttl': 3600000,
        'dead-letter-exchange': 'rpc.dead-letter',
      },
    });
  });

  it('the dead-letter queue, which any page can fill with requests that expire, is capped by count, bytes and age', async () => {
    expect(await withPolicy('rpc_queue.dead-letter')).toMatchObject({
      policy: 'rpc-dead-letter-limits',
      effective_policy_definition: {
        'max-length': 10000,
        'max-length-bytes': 41943040,
        overflow: 'drop-head',
        'message-ttl': 86400000,
      },
    });
  });

  it('browser user - a durable subscription it makes (a queue that outlives it) is capped, and gone seconds after it leaves', async () => {
    const subscriptionQueues = async () => {
      await new Promise((resolve) => setTimeout(resolve, 100)); // `until` asks often: not the broker's whole queue list
      const response = await fetch(`${MANAGEMENT}/queues/%2F?columns=name,durable,policy`, {
        headers: { authorization: `Basic ${btoa('rpc-admin:rpc-admin')}` },
      });
      const queues = (await response.json()) as { name: string; durable: boolean; policy?: string | null }[];
      return queues.filter((queue) => queue.name.startsWith('stomp-subscription-') && queue.durable);
    };
    const before = new Set((await subscriptionQueues()).map((queue) => queue.name));
    const wire = await openWire(BROWSER.login, BROWSER.passcode);
    const subscribe = { id: `durable-${process.pid}`, destination: '/topic/rpc.presence', durable: 'true' };
    expect(await wire.attempt('SUBSCRIBE', { ...subscribe, 'auto-delete': 'false' })).toBe('accepted');
    let made: { name: string; policy?: string | null } | undefined;
    await until(
      async () => {
        // The management API lists a new queue before its policy (its statistics lag a little).
        made = (await subscriptionQueues()).find(
          (queue) => !before.has(queue.name) && typeof queue.policy === 'string',
        );
        return made !== undefined;
      },
      10_000,
      'the durable subscription queue, listed with a policy',
    );
    // Announcements would pile up in it for ever: a policy bounds its length and its life.
    expect(made?.policy).toBe('stomp-subscription-limits');
    wire.send('DISCONNECT', {});
    await wire.closed;
    await until(
      async () => !(await subscriptionQueues()).some((queue) => queue.name === made?.name),
      20_000,
      'the queue to expire once unused',
    );
  }, 60_000);

  it('browser user - a durable subscription it makes as a stream (which no expiry or length limit reaches) is bounded by size and age', async () => {
    const admin = { authorization: `Basic ${btoa('rpc-admin:rpc-admin')}` };
    const streams = async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await fetch(`${MANAGEMENT}/queues/%2F?columns=name,type,effective_policy_definition`, {
        headers: admin,
      });
      const queues = (await response.json()) as { name: string; type: string; effective_policy_definition?: unknown }[];
      return queues.filter((queue) => queue.name.startsWith('stomp-subscription-') && queue.type === 'stream');
    };
    const before = new Set((await streams()).map((queue) => queue.name));
    // Registered first: a stream that nothing expires must not outlive a failed step below.
    onTestFinished(async () => {
      for (const { name } of await streams()) {
        if (before.has(name)) continue;
        await fetch(`${MANAGEMENT}/queues/%2F/${encodeURIComponent(name)}`, { method: 'DELETE', headers: admin });
      }
    });
    const wire = await openWire(BROWSER.login, BROWSER.passcode);
    const subscribe = {
      id: `stream-${process.pid}`,
      destination: '/topic/rpc.presence',
      durable: 'true',
      'auto-delete': 'false',
      'x-queue-type': 'stream',
      'prefetch-count': '10',
      ack: 'client',
    };
    expect(await wire.attempt('SUBSCRIBE', subscribe)).toBe('accepted');
    let made: { name: string; effective_policy_definition?: unknown } | undefined;
    await until(
      async () => {
        made = (await streams()).find(
          (queue) => !before.has(queue.name) && Object.keys(queue.effective_policy_definition ?? {}).length > 0,
        );
        return made !== undefined;
      },
      10_000,
      'the stream, listed with its policy',
    );
    // A stream keeps every announcement on disk, and outlives its consumer: only these bound it.
    expect(made?.effective_policy_definition).toMatchObject({
      'max-length-bytes': 4194304,
      'max-age': '10m',
      'stream-max-segment-size-bytes': 1048576,
    });
    wire.send('DISCONNECT', {});
    await wire.closed;
  }, 60_000);

  it('server user - consumes rpc_queue, replies and announces itself, but may not publish elsewhere or consume other queues', async () => {
    const client = openClient(DEFAULT_QUEUE, { watchServers: true });
    const answer = await client.callDetailed(10);
    expect(answer.value).toBe(55n);
    const announced = () => client.servers(DEFAULT_QUEUE).some((server) => server.id === answer.server);
    await until(announced, 5000, 'the server’s announcement or pong'); // its own topic: may follow the reply
    for (const [command, headers] of [
      ['SEND', { destination: '/topic/rpc.ping' }], // only clients ping
      ['SEND', { destination: '/exchange/amq.fanout/x' }],
      ['SUBSCRIBE', { id: 's', destination: '/queue/some_other_queue' }],
    ] as const) {
      const wire = await openWire(SERVER.login, SERVER.passcode);
      expect(await wire.attempt(command, headers, ''), `${command} ${headers.destination}`).toBe('refused');
    }
  });

  it('users without the topic rights of presence and cancels - the commands serve and call with --no-cancels and --no-presence', async () => {
    await removeLeftoverUsers();
    const queue = uniqueQueue('restricted');
    for (const name of [queue, `${queue}-idle`])
      onTestFinished(async () => void (await management('DELETE', `/queues/%2F/${name}`)));
    const named = escapeRegExp(queue);
    // As rpc-server, but on amq.topic it may not read rpc.cancel.
    const server = await temporaryUser(
      'rpc-test-server',
      {
        configure: `^(${named}|stomp-subscription-.*)$`,
        write: '^(amq\\.default|amq\\.topic|stomp-subscription-.*)$',
        read: `^(${named}|amq\\.topic|stomp-subscription-.*)$`,
      },
      { write: '^rpc\\.presence$', read: '^rpc\\.ping$' },
    );
    // A client that declares its queues (the command's default), and on amq.topic may write neither rpc.ping nor rpc.cancel.
    const client = await temporaryUser(
      'rpc-test-client',
      {
        configure: `^(${named}(-idle)?|amq\\.gen-.*|stomp-subscription-.*)$`,
        write: '^(amq\\.default|amq\\.topic|stomp-subscription-.*)$',
        read: '^(amq\\.gen-.*|amq\\.topic|stomp-subscription-.*)$',
      },
      { write: '^$', read: '^rpc\\.presence$' },
    );
    const as = (user: { login: string; passcode: string }) => ['--login', user.login, '--passcode', user.passcode];
    const serverCli = `${ROOT}packages/server/dist/cli.js`;
    const clientCli = `${ROOT}packages/client/dist/cli.js`;

    const refused = spawnChild(process.execPath, [serverCli, ...as(server), '--queue', queue]);
    await refused.waitFor('subscription refused; reconnecting', 15_000);
    expect(refused.stdout()).toContain('rpc.cancel');
    refused.process.kill('SIGKILL');
    const serving = spawnChild(process.execPath, [serverCli, ...as(server), '--queue', queue, '--no-cancels']);
    await serving.waitFor('awaiting RPC requests', 15_000);

    const call = (args: string[]) => spawnChild(process.execPath, [clientCli, ...as(client), ...args]);
    const answered = call(['--queue', queue, '--no-presence', '--no-cancels', '30']);
    expect(await answered.exited(15_000)).toBe(0);
    expect(answered.stdout()).toContain(' [.] Got 832040');
    // Unanswered for a second, a client asks who is there: refused to this user, unless it does not ask.
    const quiet = call(['--queue', `${queue}-idle`, '--timeout-ms', '2500', '--no-presence', '30']);
    expect(await quiet.exited(15_000)).toBe(1);
    expect(quiet.stderr()).toBe(`stomp-rpc-client: TIMEOUT: no reply from /queue/${queue}-idle within 2500 ms\n`);
    const asking = call(['--queue', `${queue}-idle`, '--timeout-ms', '2500', '30']);
    expect(await asking.exited(15_000)).toBe(1);
    expect(asking.stderr()).toContain('access_refused');
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
