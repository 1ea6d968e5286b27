// The command lines as a user runs them: `npm run client -- N` and `npm start`.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { DEFAULT_QUEUE, type FibonacciRpcClient, fibonacciService } from '@stomp-rpc/client';
import { REPEATED_SIGNAL_MS } from '@stomp-rpc/client/internal';
import { type RpcRequest, serveService } from '@stomp-rpc/server';
import amqp from 'amqplib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { amqpUrl } from '../scripts/broker.mjs';
import { BROKER_URL, openClient, ROOT, spawnChild, startServer, uniqueQueue, until } from './support.js';

const CLIENT_CLI = `${ROOT}packages/client/dist/cli.js`;
const packageOf = (name: string) =>
  JSON.parse(readFileSync(`${ROOT}packages/${name}/package.json`, 'utf8')) as { version: string };
const [CLIENT_PACKAGE, SERVER_PACKAGE] = [packageOf('client'), packageOf('server')];

/**
 * `node scripts/start.mjs` run from a terminal: the leader of its own process group, the group a
 * Ctrl-C signals as a whole (`ctrlC()`). Its servers serve `queue`. Killed when the test ends; its
 * servers then stop on their own (their channel to start.mjs closes).
 */
function startFromTerminal(queue: string) {
  const child = spawnChild(process.execPath, ['scripts/start.mjs'], { RPC_QUEUE: queue }, { processGroup: true });
  return {
    ...child,
    /** What a terminal does on Ctrl-C: SIGINT to every process in the foreground group. */
    ctrlC: () => process.kill(-(child.process.pid as number), 'SIGINT'),
  };
}

/** Resolves once a server of `queue` says (answering the presence ping) that it holds a request. */
async function untilInHand(client: FibonacciRpcClient, queue: string): Promise<void> {
  const holding = async () => (await client.discoverServers(20, queue)).some((server) => server.inFlight > 0);
  await until(holding, 5000, "a request in a server's hands");
}

/** `npm run --silent ...args`, asynchronously: servers in this process must keep running meanwhile. */
async function npmRun(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawnChild('npm', ['run', '--silent', ...args]);
  const status = await child.exited(20_000);
  // npm warns about machine-level config on stderr; only the program's own lines matter here.
  return { status, stdout: child.stdout(), stderr: child.stderr().replace(/^npm warn .*\n/gm, '') };
}

describe('command line', () => {
  it('cli - npm run client -- 30 prints 832040 and exits 0', async () => {
    await startServer(DEFAULT_QUEUE);
    const result = await npmRun('client', '--', '30');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(' [x] Requesting fib(30)\n [.] Got 832040\n');
    expect(result.status).toBe(0);
  });

  it('cli - npm run client -- 1000 prints the exact 209-digit number', async () => {
    await startServer(DEFAULT_QUEUE);
    const result = await npmRun('client', '--', '1000');
    const answer = /\[\.\] Got (\d+)/.exec(result.stdout)?.[1];
    expect(answer).toHaveLength(209);
    expect(answer?.slice(0, 20)).toBe('43466557686937456435');
    expect(answer?.slice(-20)).toBe('28516003704476137795166849228875'.slice(-20));
    expect(result.status).toBe(0);
  });

  it('cli - an n above the server maximum exits 1 with a one-line INVALID_ARGUMENT reason', async () => {
    await startServer(DEFAULT_QUEUE);
    const result = await npmRun('client', '--', '1000001');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^stomp-rpc-client: INVALID_ARGUMENT: n must be at most 1000000, got "1000001"\n$/);
  });

  it('cli - a broker that cannot be reached exits 1 with UNAVAILABLE, promptly', async () => {
    const started = Date.now();
    const result = await npmRun('client', '--', '30', '--url', 'ws://127.0.0.1:9/ws', '--connect-timeout-ms', '500');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^stomp-rpc-client: UNAVAILABLE: .*ECONNREFUSED/);
    // Regression: stompjs's connection-timeout timer used to keep the process alive for 5 s after close().
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('cli - npm run client -- --sequence 10 15 prints fib(10..15) one line each; a missing bound is a usage error', async () => {
    await startServer(DEFAULT_QUEUE);
    const result = await npmRun('client', '--', '--sequence', '10', '15');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [55, 89, 144, 233, 377, 610].map((value, i) => ` [.] fib(${10 + i}) = ${value}\n`).join(''),
    );
    expect(result.status).toBe(0);
    const usage = await npmRun('client', '--', '--sequence', '10');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--sequence takes <from> <to>');
  });

  it('cli - SIGINT cancels the call on the server too and exits 130; a reader that leaves a sequence (| head) stops it there, exit 0', async () => {
    const queue = uniqueQueue('cli-stop');
    const cancelled: string[] = [];
    const noticeCancel = (name: string, request: RpcRequest) =>
      request.signal.addEventListener('abort', () => cancelled.push(name));
    const server = serveService(
      { ...fibonacciService, queue },
      {
        fib: (_n, request) => {
          noticeCancel('fib', request);
          return new Promise<never>(() => {}); // answers nothing: only the cancel ends it
        },
        fibSequence: async function* ({ from, to }, request) {
          noticeCancel('fibSequence', request);
          for (let n = from; n <= to && !request.signal.aborted; n++) {
            yield { n, value: BigInt(n) };
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      },
      { url: BROKER_URL },
    );
    onTestFinished(() => server.stop(0));
    await server.start(10_000);

    const call = spawnChild(process.execPath, [CLIENT_CLI, '--url', BROKER_URL, '--queue', queue, '5']);
    await until(() => server.stats.inFlight === 1, 10_000, 'the call in the server’s hands');
    call.process.kill('SIGINT');
    expect(await call.exited(10_000)).toBe(130);
    expect(call.stderr()).toBe('stomp-rpc-client: ABORTED: stopped by SIGINT\n');
    await until(() => cancelled.includes('fib'), 5000, 'the handler’s signal to abort');
    // Still connecting (nothing listens there): the signal is what it reports, not a closed connection.
    const nowhere = ['--url', 'ws://127.0.0.1:9/ws', '--connect-timeout-ms', '20000', '5'];
    const connecting = spawnChild(process.execPath, [CLIENT_CLI, ...nowhere]);
    await connecting.waitFor(' [x] Requesting fib(5)', 10_000);
    connecting.process.kill('SIGTERM');
    expect(await connecting.exited(10_000)).toBe(143);
    expect(connecting.stderr()).toBe('stomp-rpc-client: ABORTED: stopped by SIGTERM\n');

    const args = [CLIENT_CLI, '--url', BROKER_URL, '--queue', queue, '--sequence', '0', '900'];
    const sequence = spawnChild(process.execPath, args);
    await sequence.waitFor('fib(1) = ', 10_000);
    sequence.process.stdout?.destroy(); // what `| head` does once it has its lines
    expect(await sequence.exited(10_000)).toBe(0);
    expect(sequence.stderr()).toBe(''); // it crashed on the closed pipe, with a stack trace
    await until(() => cancelled.includes('fibSequence'), 5000, 'the stream’s handler to be cancelled');
  });

  it('cli - --durable on both command lines: the client declares the queue as the server does, and is answered', async () => {
    const queue = uniqueQueue('durable');
    // A durable queue outlives the test's connections: delete it at the end, over AMQP.
    onTestFinished(async () => {
      const connection = await amqp.connect(amqpUrl());
      try {
        await (await connection.createChannel()).deleteQueue(queue);
      } finally {
        await connection.close();
      }
    });
    const server = spawnChild(process.execPath, ['packages/server/dist/cli.js', '--durable', '--queue', queue]);
    await until(() => server.stdout().includes('awaiting RPC requests'), 10_000, 'the server to be ready');
    const answered = await npmRun('client', '--', '--durable', '--queue', queue, '10');
    expect(answered.stderr).toBe('');
    expect(answered.stdout).toContain(' [.] Got 55\n');
    // Without it, the client's declaration differs from the queue's, and the broker refuses it.
    const refused = await npmRun('client', '--', '--queue', queue, '--timeout-ms', '3000', '10');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/precondition_failed|PRECONDITION_FAILED|inequivalent arg 'durable'/);
    // and it says what the command declared, and which flags to give.
    expect(refused.stderr).toContain(
      `stomp-rpc-client: this command declares ${queue} (durable:false, auto-delete:false, exclusive:false); if the queue exists with other arguments, RabbitMQ refuses that (precondition_failed): give --durable or --queue-profile as the servers have them; if this user may not declare or write to it (access_refused, as rpc-browser), call through an exchange (--exchange rpc)\n`,
    );
    const contradiction = await npmRun('client', '--', '--durable', '--queue-profile', 'replicated', '10');
    expect(contradiction.status).toBe(2);
    expect(contradiction.stderr).toContain('--durable and --queue-profile exclude each other');
  });

  // Regression: RabbitMQ closed the connection at the ping of a user who may not publish it, and
  // --servers printed "NO_SERVERS: no live server announced itself" with servers up.
  it('cli - --servers as a user who may not publish the ping says the connection dropped, and how such a user asks', async () => {
    const queue = uniqueQueue('servers-browser');
    await startServer(queue);
    const login = ['--login', 'rpc-browser', '--passcode', 'rpc-browser'];
    const refused = await npmRun('client', '--', '--servers', ...login);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      'stomp-rpc-client: CONNECTION_LOST: the connection dropped while the servers were asked who is there\n',
    );
    expect(refused.stderr).toContain('a user such as rpc-browser asks through an exchange (--exchange rpc)');
    const listed = await npmRun('client', '--', '--servers', ...login, '--exchange', 'rpc');
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(queue);
  });

  it('cli - --help and --version to a reader that has left (a closed pipe) exit 0 without a stack trace, on both commands', async () => {
    for (const command of [CLIENT_CLI, 'packages/server/dist/cli.js']) {
      for (const flag of ['--help', '--version']) {
        const child = spawnChild(process.execPath, [command, flag]);
        child.process.stdout?.destroy(); // before the command writes: what `| head -0` does
        expect(await child.exited(10_000), `${command} ${flag}`).toBe(0);
        expect(child.stderr(), `${command} ${flag}`).toBe('');
      }
    }
  });

  it('cli - a usage error exits 2 with the usage text', async () => {
    const result = await npmRun('client', '--', '--bogus');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option --bogus');
    expect(result.stderr).toContain('usage: stomp-rpc-client');
    const version = await npmRun('client', '--', '--version');
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${CLIENT_PACKAGE.version}\n`);
    // An n or a range the service refuses is one too, found before connecting: the URL is never tried.
    const nowhere = ['--url', 'ws://127.0.0.1:9/ws'];
    const notANumber = await npmRun('client', '--', ...nowhere, '1e3');
    expect(notANumber.status).toBe(2);
    expect(notANumber.stderr).toContain('n must be a non-negative integer, got "1e3"');
    expect(notANumber.stdout).toBe('');
    const backwards = await npmRun('client', '--', ...nowhere, '--sequence', '5', '3');
    expect(backwards.status).toBe(2);
    expect(backwards.stderr).toContain('from and to must be whole numbers with 0 <= from <= to');
    const padded = spawnChild(process.execPath, [CLIENT_CLI, ...nowhere, '--sequence', '05', '7']);
    expect(await padded.exited(10_000)).toBe(2); // as n is: plain digits, no leading zero
    expect(padded.stderr()).toContain('--sequence takes <from> <to>, two whole numbers (got 05 7)');
    // Each mistake of --sequence is named as such, not as one of n.
    for (const [args, message] of [
      [['--sequence', '0', '1234567890'], 'from and to must be whole numbers with 0 <= from <= to <= 20000'],
      [['--sequence', '-1', '5'], '<from> and <to> must be whole numbers, got -1'],
      [['--servers', '--sequence', '1', '2'], '--servers and --sequence cannot go together'],
      [['--servers', '--no-presence'], '--servers asks the servers who is there: not with --no-presence'],
      [['--fail-fast', '--no-presence', '5'], '--fail-fast needs presence: not with --no-presence'],
    ] as const) {
      const client = spawnChild(process.execPath, [CLIENT_CLI, ...nowhere, ...args]);
      expect(await client.exited(10_000), args.join(' ')).toBe(2);
      expect(client.stderr()).toContain(message);
    }
    // So is a queue or exchange name that would address another destination, as for the server.
    for (const [flag, name] of [
      ['--queue', 'a/b'],
      ['--queue', ''],
      ['--exchange', ''],
      ['--exchange', 'rpc/x'],
    ] as const) {
      const client = spawnChild(process.execPath, [CLIENT_CLI, ...nowhere, flag, name, '5']);
      expect(await client.exited(10_000), `${flag} ${JSON.stringify(name)}`).toBe(2);
      expect(client.stderr()).toMatch(new RegExp(`^stomp-rpc-client: ${flag} .*without '/'`));
      expect(client.stdout()).toBe('');
    }
  });

  it('cli - with a URL list, a node that accepts and never answers does not use up the wait for the first connection: the next URL gets its turn', async () => {
    await startServer(DEFAULT_QUEUE);
    const hung: Socket[] = [];
    const silent = createNetServer((socket) => hung.push(socket)); // a partitioned node: TCP, then nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      for (const socket of hung) socket.destroy();
      silent.close();
    });
    const urls = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/ws,${BROKER_URL}`;
    // The client starts at a random URL of the list: in four runs, the silent one comes first in all
    // but one in sixteen; whichever comes first, every run must get its answer within the wait.
    for (let run = 0; run < 4; run++) {
      const client = spawnChild(process.execPath, [CLIENT_CLI, '--url', urls, '--connect-timeout-ms', '3000', '10']);
      expect(await client.exited(10_000), client.stderr()).toBe(0);
      expect(client.stdout()).toContain(' [.] Got 55\n');
    }
  });

  it('server cli - options it refuses exit 2 before connecting, --help wins over them, and a port in use or a refused login exits 1', async () => {
    const server = (...args: string[]) => {
      const child = spawnChild(process.execPath, ['packages/server/dist/cli.js', ...args]);
      return child.exited().then((status) => ({ status, stdout: child.stdout(), stderr: child.stderr() }));
    };
    for (const args of [
      ['--max-n', ''],
      ['--prefetch', '1e3'],
      ['--workers', '100000'],
      ['--presence-ms', '50'],
    ]) {
      const refused = await server(...args);
      expect(refused.status, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(/^stomp-rpc-server: /);
    }
    const help = await server('--help', '--log-level', 'loud');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: stomp-rpc-server');
    expect(await server('--version')).toEqual({ status: 0, stdout: `${SERVER_PACKAGE.version}\n`, stderr: '' });
    // A refused login does not mend itself: the server stops and exits 1 rather than idle.
    const refusedLogin = await server('--login', 'guest', '--passcode', 'not-the-password');
    expect(refusedLogin.status).toBe(1);
    expect(refusedLogin.stdout).toContain('the broker refused the login');
    // Said on stderr too: with the log silenced (or sent elsewhere) it exited 1 saying nothing.
    const silenced = await server('--login', 'guest', '--passcode', 'not-the-password', '--log-level', 'silent');
    expect(silenced).toMatchObject({ status: 1, stdout: '' });
    expect(silenced.stderr).toMatch(/^stomp-rpc-server: UNAUTHENTICATED: .+\n$/);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = String((taken.address() as AddressInfo).port);
    const busy = await server('--metrics-port', port);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toContain('EADDRINUSE');
  });

  it('start - brings up two servers that answer, and SIGINT stops them cleanly', async () => {
    const start = spawnChild(process.execPath, ['scripts/start.mjs']);
    await start.waitFor('npm run broker:stop', 30_000);
    const banner = start.stdout();
    expect(banner).toMatch(/servers {2}2 on rpc_queue \(pids \d+, \d+\)/);
    expect((await npmRun('client', '--', '25')).stdout).toContain(' [.] Got 75025');
    start.process.kill('SIGINT');
    expect(await start.exited()).toBe(0);
  });

  // Regression: Vite's dev server exited the process on SIGTERM without waiting for the servers.
  it('start - SIGTERM (a service manager stopping it) stops the servers gracefully and waits for them', async () => {
    const queue = uniqueQueue('start-sigterm');
    const start = spawnChild(process.execPath, ['scripts/start.mjs'], { RPC_QUEUE: queue });
    await start.waitFor('npm run broker:stop', 30_000);
    const client = openClient(queue);
    // Several large n, none cached: the servers hold them long enough to be seen holding them.
    const calls = Array.from({ length: 8 }, (_, i) => client.call(999_990 + i, { timeoutMs: 20_000 }));
    for (const call of calls) call.catch(() => {}); // awaited last; a failure before must not go unhandled
    await untilInHand(client, queue); // so that a server takes a while to stop
    start.process.kill('SIGTERM');
    expect(await start.exited()).toBe(0);
    for (const server of ['server-1', 'server-2']) {
      expect(start.stdout()).toMatch(new RegExp(`\\[${server}\\] .*"msg":"stopped"`));
    }
    // fib(n) has floor(n log10(phi) - log10(5) / 2) + 1 digits: 208,986 up to n = 999,993, then 208,987.
    const digits = (await Promise.all(calls)).map((answer) => answer.toString().length);
    expect(digits).toEqual([208_986, 208_986, 208_986, 208_986, 208_987, 208_987, 208_987, 208_987]);
  });

  it('start - Ctrl-C while it starts stops what started, and is not reported as a failure', async () => {
    // A queue already declared durable keeps both servers from ever being ready: the broker closes
    // each connection that declares it otherwise, and they try again. The Ctrl-C comes meanwhile.
    const queue = uniqueQueue('start-early-ctrl-c');
    const amqpConnection = await amqp.connect(amqpUrl());
    onTestFinished(async () => {
      try {
        await (await amqpConnection.createChannel()).deleteQueue(queue);
      } finally {
        await amqpConnection.close();
      }
    });
    await (await amqpConnection.createChannel()).assertQueue(queue, { durable: true });
    const start = spawnChild(process.execPath, ['scripts/start.mjs'], { RPC_QUEUE: queue }, { processGroup: true });
    for (const server of ['server-1', 'server-2']) await start.waitFor(`[${server}] `, 30_000);
    process.kill(-(start.process.pid as number), 'SIGINT'); // a terminal's Ctrl-C
    expect(await start.exited()).toBe(0);
    expect(start.stderr()).not.toContain('start:');
    expect(start.stdout()).not.toContain('stomp-rpc is running');
  });

  it('start - a login the broker refuses: the servers exit 1 and so does it, saying which server could not start', async () => {
    const start = spawnChild(
      process.execPath,
      ['scripts/start.mjs'],
      { RPC_QUEUE: uniqueQueue('start-refused'), STOMP_PASSCODE: 'wrong' },
      { processGroup: true },
    );
    expect(await start.exited(30_000)).toBe(1);
    expect(start.stdout() + start.stderr()).toMatch(/server-[12] exited \(code 1\) before it was ready/);
    expect(start.stdout()).toContain('the broker refused the login');
  });

  // A supervisor (docker stop, systemd) signals npm, which passes the signal on to its script's
  // process: that must be the server, as a shell between them would not pass it on. Regression: the
  // server ran on, orphaned, and never drained.
  it("npm run server - SIGTERM to npm stops the server gracefully; a terminal's Ctrl-C, which npm passes on too, is one stop", async () => {
    const queue = uniqueQueue('npm-run-server');
    const ways = {
      'SIGTERM to npm': (pid: number) => process.kill(pid, 'SIGTERM'),
      'Ctrl-C': (pid: number) => process.kill(-pid, 'SIGINT'), // to npm and the server both
    };
    for (const [way, signal] of Object.entries(ways)) {
      const server = spawnChild('npm', ['run', '--silent', 'server'], { RPC_QUEUE: queue }, { processGroup: true });
      await server.waitFor('awaiting RPC requests', 20_000);
      signal(server.process.pid as number);
      const status = await server.exited(20_000);
      const output = server.stdout();
      expect(output, way).toMatch(/"msg":"stopping"/);
      expect(output, way).toMatch(/"requeued":0,"msg":"stopped"/);
      expect(output, way).not.toContain('second signal');
      expect(status, way).toBe(0);
    }
  });

  // Regression: `npm start` ran start.mjs under a shell (`build && node …`): a SIGTERM to npm
  // (systemd, docker stop, kill) ended the shell and left start.mjs, its servers and the demo running.
  it("npm start - SIGTERM to npm stops the servers gracefully; a terminal's Ctrl-C, which npm passes on too, is one stop", async () => {
    const queue = uniqueQueue('npm-start');
    const ways = {
      'SIGTERM to npm': (pid: number) => process.kill(pid, 'SIGTERM'),
      'Ctrl-C': (pid: number) => process.kill(-pid, 'SIGINT'), // to npm and start.mjs both
    };
    for (const [way, signal] of Object.entries(ways)) {
      const start = spawnChild('npm', ['start'], { RPC_QUEUE: queue }, { processGroup: true });
      await start.waitFor('npm run broker:stop', 90_000); // the banner, after a build
      signal(start.process.pid as number);
      const status = await start.exited(30_000);
      const output = start.stdout();
      expect(output, way).not.toContain('again');
      for (const server of ['server-1', 'server-2']) {
        expect(output, way).toMatch(new RegExp(`\\[${server}\\] .*"requeued":0,"msg":"stopped"`));
      }
      expect(status, way).toBe(0);
    }
  }, 240_000);

  // Regression: each server got the terminal's SIGINT and then start's SIGTERM, took the second
  // for a second Ctrl-C and exited at once, dropping the requests in hand.
  it('start - one Ctrl-C stops every server gracefully, answering the request in hand', async () => {
    const queue = uniqueQueue('start-ctrl-c');
    const start = startFromTerminal(queue);
    await start.waitFor('npm run broker:stop', 30_000);
    const client = openClient(queue);
    const call = client.call(1_000_000, { timeoutMs: 10_000 });
    call.catch(() => {}); // awaited last; a failure before that must not leave it unhandled
    // More large n, none cached: one fib(1e6) is in a server's hands for only some 50 ms, which the
    // presence pings (one answer per asker each 50 ms) could miss.
    const more = Array.from({ length: 7 }, (_, i) => client.call(999_980 + i, { timeoutMs: 20_000 }));
    for (const other of more) other.catch(() => {});
    await untilInHand(client, queue);
    start.ctrlC();
    expect(await start.exited()).toBe(0);
    const output = start.stdout();
    expect(output).not.toContain('second signal');
    for (const server of ['server-1', 'server-2']) {
      expect(output).toMatch(new RegExp(`\\[${server}\\] .*"msg":"stopping"`));
      expect(output).toMatch(new RegExp(`\\[${server}\\] .*"requeued":0,"msg":"stopped"`));
    }
    const answer = (await call).toString();
    expect(answer).toHaveLength(208_988); // fib(1000000)
    expect(answer.slice(0, 20)).toBe('19532821287077577316');
    expect(answer.slice(-20)).toBe('68996526838242546875');
  });

  it('start - a second Ctrl-C makes the servers exit at once', async () => {
    const queue = uniqueQueue('start-ctrl-c-twice');
    const start = startFromTerminal(queue);
    await start.waitFor('npm run broker:stop', 30_000);
    const client = openClient(queue);
    // Handed back to the broker, unanswered. Many large n, none cached: one alone is in a server's
    // hands for only some 50 ms, which the presence pings could miss, and the first Ctrl-C's drain
    // must outlast the wait for the second (with 8, a loaded machine saw the drain end first).
    for (let i = 0; i < 64; i++) void client.call(999_930 + i, { timeoutMs: 10_000 }).catch(() => {});
    await untilInHand(client, queue);
    start.ctrlC();
    await start.waitFor('SIGINT: stopping the servers');
    // A second Ctrl-C, not the first one again (as npm passes it on): start.mjs tells them apart by time.
    await new Promise((resolve) => setTimeout(resolve, REPEATED_SIGNAL_MS + 50));
    start.ctrlC();
    expect(await start.exited(5000)).toBe(130);
    expect(start.stdout()).toMatch(/\[server-\d\] .*"msg":"second signal/);
  });
});
