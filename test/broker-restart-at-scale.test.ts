// A broker restart with 1,000 clients connected (issue 16): every client comes back and calls
// successfully within a stated bound, and no idempotent call is lost. On side node 7 (started and
// stopped here), with two CLI servers in their own processes and the clients in two more
// (test/fixtures/restart-clients.mjs). The restart is RabbitMQ's, inside the node (stop_app,
// start_app, as scripts/broker.mjs restartLocalBroker does for the default node): every connection
// drops and the transient rpc_queue with the calls in it vanishes, as in a full node restart,
// without the Erlang VM's halt and boot (measured once with `rabbitmqctl stop` and a start: 54 s
// and 13 s on a machine at load 12, and the same outcome). Stopping Web-STOMP with 1,000
// connections takes 12-20 s here: each connection logs a crash report as it is shut down.
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { nodeProfile, rabbitmqTool, webStompAnswers, webStompUrl } from '../scripts/broker.mjs';
import { queueStat, ROOT, spawnChild, uniqueQueue, until } from './support.js';

const NODE = 7;
const profile = nodeProfile(NODE);
const URL = webStompUrl(profile);
const SERVER_CLI = `${ROOT}packages/server/dist/cli.js`;
const CLIENTS = 1000;
const CLIENT_PROCESSES = 2;
/** Every call's deadline: longer than a restart, so a call that ends otherwise than ok was lost, not late. */
const CALL_TIMEOUT_MS = 120_000;
/**
 * From the broker answering again to every client reconnected, and to every client's first call
 * after its reconnect answered. Measured 8.4-9.6 s and 8.4-11.0 s (3 runs, 2-core machine at load
 * 7-12; 10.9 and 12.3 s with a full node restart): a restart lasts long enough that the clients'
 * backoff reaches its 10 s cap (maxReconnectDelayMs; 5-10 s with jitter), so the last client comes
 * back up to 10 s after the broker does. The bounds are three times that.
 */
const ALL_RECONNECTED_BOUND_MS = 30_000;
const ALL_CALLED_BOUND_MS = 40_000;

const execFileAsync = promisify(execFile);
const nodeEnv = { ...process.env, STOMP_RPC_NODE: String(NODE), STOMP_URL: '' };

/** `node scripts/broker.mjs <command>` for node 7, as an operator would run it. */
async function broker(command: 'start' | 'stop'): Promise<void> {
  await execFileAsync(process.execPath, ['scripts/broker.mjs', command], {
    cwd: ROOT,
    env: nodeEnv,
    timeout: 120_000,
  });
}

type Outcomes = Record<string, number>;
interface SettleReport {
  settled: boolean;
  outcomes: { first: Outcomes; inflight: Outcomes; during: Outcomes; after: Outcomes };
  lostAt: (number | null)[];
  backAt: (number | null)[];
  afterCallEndedAt: (number | null)[];
  inflightEndedAt: (number | null)[];
  duringEndedAt: (number | null)[];
  resent: number;
  reconnects: number;
  reconnectsBefore: number;
  droppedReplies: number;
}
interface ConnectReport {
  connectMs: number;
  firstCallsMs: number;
  outcomes: Outcomes;
}

/** A forked client process; `send` runs one command in it and resolves with its result. */
function startClientProcess(clients: number, queue: string) {
  const child: ChildProcess = fork(
    `${ROOT}test/fixtures/restart-clients.mjs`,
    [JSON.stringify({ url: URL, queue, clients, callTimeoutMs: CALL_TIMEOUT_MS })],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waiting = new Map<string, (message: { ok: boolean; result?: unknown; error?: string }) => void>();
  child.on('message', (message: { command: string; ok: boolean; result?: unknown; error?: string }) => {
    waiting.get(message.command)?.(message);
    waiting.delete(message.command);
  });
  const reply = <T>(command: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`client process: no answer to ${command} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('exit', (code) => reject(new Error(`client process exited with ${code} during ${command}`)));
      waiting.set(command, (message) => {
        clearTimeout(timer);
        if (message.ok) resolve(message.result as T);
        else reject(new Error(`client process ${command} failed: ${message.error}`));
      });
    });
  const started = reply<void>('started', 15_000);
  return {
    pid: child.pid as number,
    started,
    send: <T>(command: string, timeoutMs: number, args: Record<string, unknown> = {}): Promise<T> => {
      const answer = reply<T>(command, timeoutMs);
      child.send({ command, ...args });
      return answer;
    },
  };
}

const addUp = (reports: Outcomes[]): Outcomes => {
  const total: Outcomes = {};
  for (const report of reports) for (const [code, n] of Object.entries(report)) total[code] = (total[code] ?? 0) + n;
  return total;
};
/** The latest of the times, after `from`, in ms; NaN when a time is missing. */
const latestAfter = (times: (number | null)[], from: number): number =>
  times.some((time) => time === null) ? Number.NaN : Math.max(...(times as number[])) - from;

describe('broker restart at scale', () => {
  beforeAll(() => broker('start'), 150_000);
  afterAll(() => broker('stop'), 70_000);

  it(`restart - ${CLIENTS} clients all reconnect and call again within the bound; every idempotent call in flight ends ok`, async () => {
    const queue = uniqueQueue('restart-scale');
    const servers = [0, 1].map(() => spawnChild(process.execPath, [SERVER_CLI], { RPC_QUEUE: queue, STOMP_URL: URL }));
    await Promise.all(servers.map((server) => server.waitFor('awaiting RPC requests', 20_000)));
    const serverPids = servers.map((server) => server.process.pid as number);

    const processes = Array.from({ length: CLIENT_PROCESSES }, () =>
      startClientProcess(CLIENTS / CLIENT_PROCESSES, queue),
    );
    await Promise.all(processes.map((p) => p.started));
    const connected = await Promise.all(processes.map((p) => p.send<ConnectReport>('connect', 90_000)));
    expect(addUp(connected.map((report) => report.outcomes))).toEqual({ ok: CLIENTS });
    const connectMs = Math.max(...connected.map((report) => report.connectMs));

    // Every client with a call in the broker when it goes down: the servers are frozen until then,
    // so the calls wait in rpc_queue (or unacknowledged in a server's prefetch).
    for (const pid of serverPids) process.kill(pid, 'SIGSTOP');
    const thawServers = () => {
      for (const pid of serverPids) process.kill(pid, 'SIGCONT');
    };
    onTestFinished(thawServers);
    await Promise.all(processes.map((p) => p.send('inflight', 10_000)));
    await until(() => (queueStat(profile, queue, 'messages') ?? 0) >= CLIENTS, 20_000, `${CLIENTS} calls in ${queue}`);

    const stopAt = Date.now();
    rabbitmqTool(profile, 'rabbitmqctl', ['stop_app'], 120_000);
    const downAt = Date.now();
    thawServers(); // they find their connection gone, and reconnect as the clients do
    // Calls made while the broker is down wait for the reconnect.
    const during = await Promise.all(processes.map((p) => p.send<{ connected: number }>('during', 10_000)));
    const startAt = Date.now();
    rabbitmqTool(profile, 'rabbitmqctl', ['start_app'], 120_000);
    await until(() => webStompAnswers(URL, 1000), 30_000, 'Web-STOMP to answer after start_app');
    const upAt = Date.now();

    const reports = await Promise.all(
      processes.map((p) => p.send<SettleReport>('settle', CALL_TIMEOUT_MS + 20_000, { timeoutMs: CALL_TIMEOUT_MS })),
    );
    const all = <K extends keyof SettleReport>(field: K) => reports.flatMap((report) => report[field] as never[]);
    const outcomes = {
      inflight: addUp(reports.map((r) => r.outcomes.inflight)),
      during: addUp(reports.map((r) => r.outcomes.during)),
      after: addUp(reports.map((r) => r.outcomes.after)),
    };
    const figures = {
      connectMs,
      stopMs: downAt - stopAt,
      startMs: upAt - startAt,
      allReconnectedMs: latestAfter(all('backAt'), upAt),
      allCalledMs: latestAfter(all('afterCallEndedAt'), upAt),
      inflightDoneMs: latestAfter(all('inflightEndedAt'), upAt),
      duringDoneMs: latestAfter(all('duringEndedAt'), upAt),
      connectedWhileDown: during.reduce((n, d) => n + d.connected, 0),
      resent: reports.reduce((n, r) => n + r.resent, 0),
      reconnects: reports.reduce((n, r) => n + r.reconnects, 0),
      reconnectsBefore: reports.reduce((n, r) => n + r.reconnectsBefore, 0),
      droppedReplies: reports.reduce((n, r) => n + r.droppedReplies, 0),
    };
    console.info(
      `restart with ${CLIENTS} clients: connected in ${connectMs} ms; stop ${figures.stopMs} ms, start ${figures.startMs} ms; ` +
        `after the broker answered again: all reconnected in ${figures.allReconnectedMs} ms, all called in ` +
        `${figures.allCalledMs} ms, in-flight calls done in ${figures.inflightDoneMs} ms, calls made while down ` +
        `done in ${figures.duringDoneMs} ms; outcomes ${JSON.stringify(outcomes)}; re-sent ${figures.resent}, ` +
        `reconnects ${figures.reconnects} (before the restart ${figures.reconnectsBefore}), dropped replies ${figures.droppedReplies}`,
    );

    expect(reports.every((report) => report.settled)).toBe(true);
    // Nothing lost that was idempotent: each call in flight at the restart, each made while the
    // broker was down and each made right after the reconnect ended with its answer.
    expect(outcomes).toEqual({ inflight: { ok: CLIENTS }, during: { ok: CLIENTS }, after: { ok: CLIENTS } });
    expect(figures.connectedWhileDown).toBe(0);
    expect(all('lostAt').filter((time) => time === null)).toEqual([]);
    // The calls in flight went to a queue the restart emptied: each was sent again.
    expect(figures.resent).toBeGreaterThanOrEqual(CLIENTS);
    expect(figures.droppedReplies).toBeLessThanOrEqual(figures.resent);
    expect(figures.allReconnectedMs).toBeLessThanOrEqual(ALL_RECONNECTED_BOUND_MS);
    expect(figures.allCalledMs).toBeLessThanOrEqual(ALL_CALLED_BOUND_MS);

    await Promise.all(processes.map((p) => p.send('close', 30_000)));
  }, 240_000);
});
