// Seeing what the servers do: replies naming the server that answered, stats, Prometheus metrics,
// JSON logs and trace context.
import { Writable } from 'node:stream';
import { isTraceparent, newTraceparent } from '@stomp-rpc/client';
import { createLogger } from '@stomp-rpc/server';
import { describe, expect, it } from 'vitest';
import { openClient, rejectionCode, spawnChild, startServer, uniqueQueue } from './support.js';

const SERVER_CLI = 'packages/server/dist/cli.js';

/** Checks Prometheus text exposition format line by line; returns the samples by series. */
function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labels = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*",?)*\\}`;
  const sample = new RegExp(`^(${name}(?:${labels})?) (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\\+Inf|-Inf|NaN))$`);
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (type) {
      typed.add(type[1] as string);
      continue;
    }
    if (new RegExp(`^# HELP ${name} .*$`).test(line)) continue;
    const match = sample.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const series = match[1] as string;
    const family = series.replace(/\{.*$/, '').replace(/_(bucket|sum|count|total)$/, '');
    if (![...typed].some((known) => known === family || known.startsWith(family) || family.startsWith(known))) {
      throw new Error(`sample before its # TYPE line: ${line}`);
    }
    samples.set(series, Number(match[2]));
  }
  return samples;
}

describe('stats, metrics, logs', () => {
  it('replies - say which server answered and how long it took; the client keeps a latency histogram', async () => {
    const queue = uniqueQueue('who');
    const server = await startServer(queue);
    const client = openClient(queue);
    const result = await client.callDetailed(20);
    expect(result.value).toBe(6765n);
    expect(result.server).toBe(server.id);
    expect(result.serverMs).toBeGreaterThanOrEqual(0);
    expect(result.latencyMs).toBeGreaterThanOrEqual(result.serverMs ?? 0);
    await client.call(21);
    expect(client.stats.latency.count).toBe(2);
    expect(server.stats).toMatchObject({ requests: 2, succeeded: 2, latency: { count: 2 } });
    expect(server.stats.processingMs.average).toBeCloseTo(server.stats.processingMs.total / 2, 6);
  });

  it('stats - errors by code and the last error, as NATS services report them', async () => {
    const queue = uniqueQueue('stats');
    const server = await startServer(queue);
    const client = openClient(queue);
    await client.call(3);
    expect(await rejectionCode(client.call('1000001'))).toBe('INVALID_ARGUMENT');
    expect(server.stats).toMatchObject({
      requests: 2,
      succeeded: 1,
      errors: { INVALID_ARGUMENT: 1 },
      lastError: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('at most') },
      inFlight: 0,
    });
  });

  it('metrics - --metrics-port serves valid Prometheus text with requests, errors by code, processing time, in flight, the connection, the same by procedure, and event-loop delay', async () => {
    const queue = uniqueQueue('metrics');
    const server = spawnChild(process.execPath, [SERVER_CLI, '--metrics-port', '0'], { RPC_QUEUE: queue });
    await server.waitFor('awaiting RPC requests');
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(server.stdout())?.[1];
    expect(url, server.stdout()).toBeDefined();

    const client = openClient(queue);
    await Promise.all(Array.from({ length: 5 }, (_, i) => client.call(i)));
    expect(await rejectionCode(client.call('2000000'))).toBe('INVALID_ARGUMENT');

    const response = await fetch(url as string);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(await response.text());
    const label = `queue="${queue}"`;
    expect(samples.get(`stomp_rpc_requests_total{${label}}`)).toBe(6);
    expect(samples.get(`stomp_rpc_request_errors_total{${label},code="INVALID_ARGUMENT"}`)).toBe(1);
    expect(samples.get(`stomp_rpc_processing_seconds_count{${label}}`)).toBe(6);
    expect(samples.get(`stomp_rpc_processing_seconds_bucket{le="+Inf",${label}}`)).toBe(6);
    expect(samples.get(`stomp_rpc_in_flight{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_connected{${label}}`)).toBe(1);
    expect(samples.get(`stomp_rpc_reconnects_total{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_requests_dropped_total{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_requests_cancelled_total{${label}}`)).toBe(0);
    // The command's worker pool of large n: its threads, none busy now, none died.
    expect(samples.get(`stomp_rpc_worker_threads{${label}}`)).toBeGreaterThanOrEqual(1);
    expect(samples.get(`stomp_rpc_worker_threads_busy{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_worker_jobs_waiting{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_worker_replacements_total{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_worker_pool_gave_up{${label}}`)).toBe(0);
    expect(samples.get(`stomp_rpc_request_errors_total{${label},code="INTERNAL"}`)).toBe(0); // there before the first
    // By procedure: the CLI serves the Fibonacci service, whose bare requests run `fib`.
    const fib = `${label},procedure="fib"`;
    expect(samples.get(`stomp_rpc_procedure_requests_total{${fib},outcome="ok"}`)).toBe(5);
    expect(samples.get(`stomp_rpc_procedure_requests_total{${fib},outcome="INVALID_ARGUMENT"}`)).toBe(1);
    expect(samples.get(`stomp_rpc_procedure_processing_seconds_total{${fib}}`)).toBeGreaterThan(0);
    expect(samples.get('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect((await fetch(url?.replace('/metrics', '/other') as string)).status).toBe(404);
  });

  it('logs - one JSON line per failed request with its traceparent, none per success at the default level', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const queue = uniqueQueue('logs');
    await startServer(queue, { logger: createLogger('info', sink) });
    const client = openClient(queue);
    for (let n = 0; n < 10; n++) await client.call(n);
    const traceparent = newTraceparent();
    expect(await rejectionCode(client.call('1000001', { traceparent }))).toBe('INVALID_ARGUMENT'); // the server's limit

    const failures = lines.filter((line) => line.msg === 'request failed');
    expect(failures).toEqual([
      expect.objectContaining({
        level: 'warn',
        code: 'INVALID_ARGUMENT',
        traceparent,
        correlationId: expect.any(String),
      }),
    ]);
    expect(lines.filter((line) => line.msg === 'request answered')).toEqual([]);
    expect(lines.map((line) => line.msg)).toContain('awaiting RPC requests');
    for (const line of lines) expect(line).toMatchObject({ time: expect.any(String), pid: process.pid });
  });

  it('tracing - a call sends the caller’s traceparent, none by default, a fresh one with traceCalls; an invalid one is refused', async () => {
    const queue = uniqueQueue('trace');
    const seen: Array<string | undefined> = [];
    await startServer(queue, {
      handler: (request) => {
        seen.push(request.headers.traceparent);
        return '1';
      },
    });
    const client = openClient(queue);
    const traced = openClient(queue, { traceCalls: true });
    const mine = newTraceparent();
    expect((await client.callDetailed(1, { traceparent: mine })).traceparent).toBe(mine);
    expect((await client.callDetailed(2)).traceparent).toBeUndefined();
    const fresh = await traced.callDetailed(3);
    expect(isTraceparent(fresh.traceparent ?? '')).toBe(true);
    expect(seen).toEqual([mine, undefined, fresh.traceparent]);
    expect(await rejectionCode(client.call(1, { traceparent: 'not-a-trace' }))).toBe('INVALID_ARGUMENT');
  });
});
