// After close() resolves, nothing of the client keeps a process alive: no timer, no interval, no
// socket, on every way a call can end. Each case runs in a process of its own
// (test/fixtures/close-scenario.mjs), which must exit by itself.
import { describe, expect, it } from 'vitest';
import { spawnChild, startServer, uniqueQueue } from './support.js';

const CLIENT_CLI = 'packages/client/dist/cli.js';
/** Far longer than a run takes (about 0.4 s); a run still alive then hangs. */
const EXIT_BOUND_MS = 8000;

interface ScenarioRun {
  code: number | null;
  outcome: string | undefined;
  left: string[];
  output: string;
}

async function runScenario(scenario: string, queue: string): Promise<ScenarioRun> {
  const child = spawnChild(process.execPath, ['test/fixtures/close-scenario.mjs', scenario], { RPC_QUEUE: queue });
  const code = await child.exited(EXIT_BOUND_MS);
  const stdout = child.stdout();
  const left = /^left (.*)$/m.exec(stdout)?.[1];
  return {
    code,
    outcome: /^outcome (.*)$/m.exec(stdout)?.[1],
    left: left === undefined ? [] : (JSON.parse(left) as string[]),
    output: `${stdout}${child.stderr()}`,
  };
}

describe('close() leaves nothing behind', () => {
  // Which outcome each way of ending gives: the scenario must really take that path.
  const withServer: [scenario: string, outcome: string][] = [
    ['valid call', 'value 832040'],
    ['invalid argument', 'error INVALID_ARGUMENT'],
    ['remote error', 'error INVALID_ARGUMENT'],
    ['abort', 'error ABORTED'],
    ['close while connecting', 'error CLOSED'],
    ['close while the broker is unreachable', 'error UNAVAILABLE'],
    // Regression: a server's answer to the "who is there?" ping arriving while the client closed
    // started the presence expiry interval again, and the process never exited.
    ['close during server discovery', 'value connected'],
    ['close while listing servers', 'error CLOSED'],
  ];
  const withoutServer: [scenario: string, outcome: string][] = [
    ['timeout', 'error TIMEOUT'],
    ['no servers', 'error NO_SERVERS'],
    ['no servers, fail fast', 'error NO_SERVERS'],
  ];

  it.each(withServer)('with a server: %s', async (scenario, outcome) => {
    const queue = uniqueQueue('close');
    await startServer(queue);
    const run = await runScenario(scenario, queue);
    expect(run.outcome, run.output).toBe(outcome);
    // Timers are released when close() resolves; a socket may still be finishing its TCP close,
    // which does not hold the process (it exits below).
    expect(run.left.filter((resource) => resource === 'Timeout')).toEqual([]);
    expect(run.code, run.output).toBe(0);
  });

  it.each(withoutServer)('without a server: %s', async (scenario, outcome) => {
    const run = await runScenario(scenario, uniqueQueue('close-nobody'));
    expect(run.outcome, run.output).toBe(outcome);
    expect(run.left.filter((resource) => resource === 'Timeout')).toEqual([]);
    expect(run.code, run.output).toBe(0);
  });
});

describe('the client command always exits', () => {
  it('bad and good inputs in a loop against servers: every run ends within the bound with its exit code', async () => {
    const queue = uniqueQueue('cli-exit');
    await Promise.all([startServer(queue), startServer(queue)]);
    // Expected exit code per input: 0 answered, 1 a coded error (the server's), 2 a usage error.
    const inputs: [n: string, code: number][] = [
      ['abc', 2], // not a number: a usage error, found before connecting
      ['', 2],
      ['-1', 2],
      ['1.5', 2],
      ['1000001', 1],
      ['30', 0],
    ];
    const rounds = 6;
    const failures: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // Two at a time: this machine has two cores.
      for (let i = 0; i < inputs.length; i += 2) {
        await Promise.all(
          inputs.slice(i, i + 2).map(async ([n, expected]) => {
            const child = spawnChild(process.execPath, [CLIENT_CLI, '--queue', queue, '--', n]);
            let code: number | null;
            try {
              code = await child.exited(EXIT_BOUND_MS);
            } catch {
              failures.push(`n=${JSON.stringify(n)}: still running after ${EXIT_BOUND_MS} ms`);
              return;
            }
            if (code !== expected) failures.push(`n=${JSON.stringify(n)}: exit ${code}: ${child.stderr()}`);
          }),
        );
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
