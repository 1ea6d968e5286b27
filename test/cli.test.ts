// The command lines as a user runs them: `npm run client -- N` and `npm start`.
import { DEFAULT_QUEUE } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { spawnChild, startServer } from './support.js';

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

  it('cli - a usage error exits 2 with the usage text', async () => {
    const result = await npmRun('client', '--', '--bogus');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option --bogus');
    expect(result.stderr).toContain('usage: stomp-rpc-client');
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
});
