// The bench in its smoke mode (a few seconds, every scenario once), so `npm run bench` cannot rot.
// It checks that the table comes out, never how fast anything was.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function runScript(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('bench', () => {
  it('bench - the smoke run prints the table for every scenario', async () => {
    const { code, stdout, stderr } = await runScript(['bench/run.mjs', '--smoke'], 55_000);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^Machine: .+ cores/m);
    expect(stdout).toContain('| scenario | in flight | calls/s (median) |');
    for (const scenario of [
      'stomp-rpc, defaults',
      'stomp-rpc, client confirmRequests off',
      'RxStompRPC defaults',
      'RxStompRPC tuned',
      'tutorial in stompjs',
      'amqplib',
      'raw Web-STOMP echo',
    ]) {
      expect(stdout, scenario).toMatch(
        new RegExp(`\\| ${scenario.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^|]* \\| 64 \\| [0-9,]+ \\|`),
      );
    }
    expect(stdout).toMatch(/\| 100,000 \| [0-9.]+ \|/);
    expect(stdout).toContain('Memory per pending call');
    expect(stdout).toContain('| target | measured | needed | verdict |');
    expect(stdout).toMatch(/\| server prefetch \| large call alone p50 ms \|/);
    expect(stdout).not.toContain(' errors');
  }, 60_000);

  it('bench - the latency split prints each scenario’s parts: every one measured, and the broker’s the rest of the call', async () => {
    const { code, stdout, stderr } = await runScript(
      ['bench/latency-split.mjs', '--calls', '200', '--rounds', '1'],
      25_000,
    );
    expect(code, stderr).toBe(0);
    for (const scenario of ['raw Web-STOMP echo', 'stomp-rpc, defaults', 'stomp-rpc, confirmRequests off']) {
      const row = stdout.split('\n').find((line) => line.startsWith(`| ${scenario} |`));
      const cells = (row ?? '')
        .split('|')
        .slice(2, -1)
        .map((cell) => Number.parseFloat(cell));
      expect(cells, scenario).toHaveLength(7);
      const [call, , send, server, receive, between, brokerCpu] = cells as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      for (const part of [call, send, server, receive, brokerCpu]) expect(part, scenario).toBeGreaterThan(0);
      expect(between, scenario).toBeGreaterThan(0);
    }
  }, 30_000);
});
