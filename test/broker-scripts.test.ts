// The project's broker scripts (scripts/broker.mjs) against the running project-local node.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { nodePid, nodeProfile, rabbitmqTool, stopNode, webStompAnswers } from '../scripts/broker.mjs';
import { withFileLock } from '../scripts/file-lock.mjs';
import { spawnChild, until } from './support.js';

/** When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A folder of the test's own, removed after it. */
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stomp-rpc-lock-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('broker scripts', () => {
  it('nodePid - finds the running node, and ignores a pid file whose number now belongs to another process', async () => {
    expect(nodePid()).toBeGreaterThan(0); // the node the broker tests run on
    // A node that was killed leaves its pid file; the number may be reused, here by this very
    // process. Signalling it would stop or kill something that is not ours.
    // A made-up node in a folder of its own: no real node's files are touched.
    const stateDir = mkdtempSync(join(tmpdir(), 'stomp-rpc-node-'));
    onTestFinished(() => rmSync(stateDir, { recursive: true, force: true }));
    const gone = { ...nodeProfile(9), stateDir, pidFile: join(stateDir, 'node.pid') };
    writeFileSync(gone.pidFile, String(process.pid));
    expect(nodePid(gone)).toBeUndefined();
    await expect(stopNode(gone)).resolves.toBeUndefined(); // "not running": nothing is signalled
  });

  // Regression: a restart cut short between stop_app and start_app (a Ctrl-C in restartLocalBroker)
  // left the node's VM up with RabbitMQ stopped; every later start waited out 90 s for it, then
  // blamed a port held by another broker.
  it('start - a node whose VM runs with RabbitMQ stopped is started again, not waited for in vain', async () => {
    rabbitmqTool(nodeProfile(), 'rabbitmqctl', ['stop_app'], 60_000);
    const start = spawnChild(process.execPath, ['scripts/broker.mjs', 'start']);
    expect(await start.exited(60_000)).toBe(0);
    expect(start.stderr() + start.stdout()).toContain('runs with RabbitMQ stopped');
    expect(await webStompAnswers()).toBe(true);
  }, 90_000);

  it('rabbitmqctl run by the scripts listens for Erlang distribution on loopback only', async () => {
    // The CLI tools are Erlang nodes too: while one runs, it listens on a port from 35672 up.
    const script =
      "const b = await import('./scripts/broker.mjs'); b.rabbitmqTool(b.nodeProfile(), 'rabbitmqctl', ['eval', 'timer:sleep(4000).']);";
    const before = new Set(listeningAddresses(35672, 35682)); // none of the tool's
    const tool = spawnChild(process.execPath, ['--input-type=module', '-e', script]);
    const exited = tool.exited(30_000);
    let running = true;
    const stopped = () => {
      running = false;
    };
    exited.then(stopped, stopped); // within 30 s either way: the loop below is bounded
    const seen = new Set<string>(); // every listener the tool opened, sampled for as long as it ran
    while (running) {
      for (const address of listeningAddresses(35672, 35682)) if (!before.has(address)) seen.add(address);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await exited).toBe(0);
    expect(seen.size, 'a listener of rabbitmqctl').toBeGreaterThan(0);
    expect([...seen].filter((address) => !address.startsWith('127.0.0.1:'))).toEqual([]);
  });

  it('cluster definitions - prints the replicated profile for a cluster of your own: rpc_queue a quorum queue, still bound to the rpc exchange', () => {
    const printed = spawnSync(process.execPath, ['scripts/cluster.mjs', 'definitions'], { encoding: 'utf8' });
    expect(printed.status).toBe(0);
    const definitions = JSON.parse(printed.stdout) as {
      queues: { name: string; arguments: Record<string, unknown> }[];
      bindings: { source: string; destination: string }[];
      policies: { name: string; definition: Record<string, unknown> }[];
    };
    expect(definitions.queues.filter((queue) => queue.name === 'rpc_queue')).toEqual([
      expect.objectContaining({ durable: true, arguments: { 'x-queue-type': 'quorum' } }),
    ]);
    expect(definitions.bindings).toContainEqual(expect.objectContaining({ source: 'rpc', destination: 'rpc_queue' }));
    expect(definitions.policies).toContainEqual(
      expect.objectContaining({
        name: 'rpc-queue-limits-quorum',
        definition: expect.objectContaining({ 'delivery-limit': 5 }),
      }),
    );
  });

  it('withFileLock - a second process waits for the first to leave before it enters', async () => {
    const dir = scratchDir();
    const lock = join(dir, 'start.lock');
    const trace = join(dir, 'trace');
    // Each holds the lock until a process has said it waits for it (the second itself, for the
    // second), so the two surely contend if the second starts within 5 s (the holder's bound).
    const holder = `
      import { appendFileSync, readFileSync } from 'node:fs';
      import { withFileLock } from ${JSON.stringify(new URL('../scripts/file-lock.mjs', import.meta.url).href)};
      const note = (line) => appendFileSync(${JSON.stringify(trace)}, line + ' ' + process.pid + '\\n');
      await withFileLock(${JSON.stringify(lock)}, 10_000, async () => {
        note('in');
        for (let i = 0; i < 100 && !readFileSync(${JSON.stringify(trace)}, 'utf8').includes('waits'); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        note('out');
      }, () => note('waits'));`;
    const traced = () => (existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : []);
    const first = spawnChild(process.execPath, ['--input-type=module', '-e', holder]);
    await until(() => traced().length === 1, 10_000, 'the first process to hold the lock');
    const second = spawnChild(process.execPath, ['--input-type=module', '-e', holder]); // contends for it
    expect(await Promise.all([first.exited(), second.exited()])).toEqual([0, 0]);
    const [a, b] = [first.process.pid, second.process.pid];
    expect(traced()).toEqual([`in ${a}`, `waits ${b}`, `out ${a}`, `in ${b}`, `out ${b}`]);
    expect(existsSync(lock)).toBe(false); // released
  });

  it('withFileLock - takes over a stale lock (holder dead, its pid reused since, or its pid never written), and gives up on a live holder after its timeout', async () => {
    const dir = scratchDir();
    const lock = join(dir, 'start.lock');
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number; // exited: its pid names nobody of ours
    writeFileSync(lock, String(dead));
    expect(await withFileLock(lock, 2000, async () => readFileSync(lock, 'utf8'))).toBe(
      `${process.pid} ${startTicks(process.pid)}`,
    );

    // A pid reused since (after a reboot, in a fresh container): this very process, or another one
    // than the writer, which started at another time.
    writeFileSync(lock, String(process.pid));
    expect(await withFileLock(lock, 2000, async () => 'taken')).toBe('taken');
    const later = spawnChild(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)']);
    const laterPid = later.process.pid as number;
    await until(() => startTicks(laterPid) !== undefined, 5000, 'the process to show in /proc');
    writeFileSync(lock, `${laterPid} ${Number(startTicks(laterPid)) - 1}`);
    expect(await withFileLock(lock, 2000, async () => 'taken')).toBe('taken');
    // The same in a lock an older checkout wrote (its pid alone): a process started after the lock.
    writeFileSync(lock, String(laterPid));
    const writtenBefore = new Date(Date.now() - 60_000);
    utimesSync(lock, writtenBefore, writtenBefore);
    expect(await withFileLock(lock, 2000, async () => 'taken')).toBe('taken');

    // Left empty by a writer killed before it wrote its pid, seconds ago.
    writeFileSync(lock, '');
    utimesSync(lock, writtenBefore, writtenBefore);
    expect(await withFileLock(lock, 2000, async () => 'taken')).toBe('taken');

    // Held by a live process that started before it wrote the lock: waited for, up to the timeout.
    const holder = spawnChild(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)']);
    const holderPid = holder.process.pid as number;
    writeFileSync(lock, String(holderPid));
    const waits: number[] = [];
    const startedAt = Date.now();
    await expect(
      withFileLock(
        lock,
        300,
        async () => 'entered',
        (pid) => waits.push(pid),
      ),
    ).rejects.toThrow(`still held by pid ${holderPid} after 300 ms`);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(waits).toEqual([holderPid]);
    expect(readFileSync(lock, 'utf8')).toBe(String(holderPid)); // a waiter that gives up leaves it

    // The same holder, its start recorded, after the wall clock jumped a minute ahead (NTP on a
    // fresh machine): still its holder's, as the start is counted in ticks since boot.
    const held = `${holderPid} ${startTicks(holderPid)}`;
    writeFileSync(lock, held);
    utimesSync(lock, writtenBefore, writtenBefore);
    await expect(withFileLock(lock, 300, async () => 'entered')).rejects.toThrow('still held');
    expect(readFileSync(lock, 'utf8')).toBe(held);
  });
});

/** The local addresses ("ip:port") of TCP sockets listening on ports from `min` to `max`, IPv4 and IPv6. */
function listeningAddresses(min: number, max: number): string[] {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/);
      const [hexIp = '', hexPort = ''] = local.split(':');
      const port = Number.parseInt(hexPort, 16);
      if (state !== '0A' || port < min || port > max) continue; // 0A: LISTEN
      // IPv4 in host (little-endian) byte order; any IPv6 address is shown as its hex.
      const ip =
        hexIp.length === 8
          ? (hexIp.match(/../g) ?? [])
              .reverse()
              .map((b) => Number.parseInt(b, 16))
              .join('.')
          : hexIp;
      found.push(`${ip}:${port}`);
    }
  }
  return found;
}
