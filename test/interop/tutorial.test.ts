// The tutorial's own programs (RabbitMQ tutorial six, in Python/pika and Node/amqplib, speaking
// AMQP 0-9-1) and ours (speaking STOMP over WebSocket) answer each other on the same broker, in
// both directions. Every test uses its own queue, so tutorial servers never see other tests'
// requests.
import { describe, expect, it } from 'vitest';
import { openClient, spawnChild, startServer, uniqueQueue } from '../support.js';

const CLIENT_CLI = 'packages/client/dist/cli.js';

const PYTHON = '/usr/bin/python3';

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

describe('interop', () => {
  for (const [name, program] of [
    ['pika', PIKA],
    ['amqplib', AMQPLIB],
  ] as const) {
    it(`interop - the tutorial's ${name} server answers our client`, async () => {
      const queue = uniqueQueue(`interop-${name}-server`);
      const server = spawnChild(program.command, [program.server], { RPC_QUEUE: queue });
      await server.waitFor(' [x] Awaiting RPC requests');
      // The tutorial's servers never announce themselves; the defaults answer them all the same.
      const client = openClient(queue);
      await expect(client.call(20)).resolves.toBe(6765n);
      // Its stdout may reach us a moment after the reply does.
      await server.waitFor(' [.] fib(20)');
      // So does our command line, with no flag.
      const cli = spawnChild(process.execPath, [CLIENT_CLI, '25'], { RPC_QUEUE: queue });
      expect(await cli.exited(), cli.stderr()).toBe(0);
      expect(cli.stdout()).toContain(' [.] Got 75025');
    });

    it(`interop - our server answers the tutorial's ${name} client`, async () => {
      const queue = uniqueQueue(`interop-${name}-client`);
      // start() resolves once the broker confirms the subscription, so the queue exists.
      const server = await startServer(queue);
      const client = spawnChild(program.command, [program.client, '30'], { RPC_QUEUE: queue });
      const code = await client.exited();
      expect(code, `exit code; stdout:\n${client.stdout()}stderr:\n${client.stderr()}`).toBe(0);
      expect(client.stdout()).toContain(' [x] Requesting fib(30)');
      expect(client.stdout()).toContain(' [.] Got 832040');
      expect(server.stats).toMatchObject({ requests: 1, succeeded: 1, dropped: 0 });
    });
  }
});
