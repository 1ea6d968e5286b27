import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ServerMetrics } from './metrics.js';
import type { RpcServer } from './rpc-server.js';

describe('ServerMetrics.serve', () => {
  it('close() cuts a scraper stalled mid-request instead of waiting for it', async () => {
    const metrics = new ServerMetrics({ queue: 'metrics_unit', inFlight: () => 0 });
    const endpoint = await metrics.serve(0);
    const { port } = new URL(endpoint.url);
    const socket = connect(Number(port), '127.0.0.1');
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // the headers never end
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request has reached the server

    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      endpoint.close().then(() => 'closed'),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('still open after 2 s'), 2000);
      }),
    ]);
    clearTimeout(timer);
    if (closed !== 'closed') socket.destroy(); // lets the failing test's server close
    expect(closed).toBe('closed');
    await socketClosed;
  });

  it('serves /metrics as Prometheus text and anything else as 404', async () => {
    const metrics = new ServerMetrics({ queue: 'metrics_unit', inFlight: () => 3 });
    const endpoint = await metrics.serve(0);
    try {
      const scrape = await fetch(endpoint.url);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toMatch(/^stomp_rpc_in_flight\{queue="metrics_unit"\} 3$/m);
      const other = await fetch(new URL('/other', endpoint.url));
      expect(other.status).toBe(404);
      await other.text();
    } finally {
      await endpoint.close();
    }
  });

  it('HEAD /metrics answers the headers only; another method on /metrics is 405', async () => {
    const metrics = new ServerMetrics({ queue: 'metrics_unit', inFlight: () => 0 });
    const endpoint = await metrics.serve(0);
    try {
      const head = await fetch(endpoint.url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await head.text()).toBe('');
      const post = await fetch(endpoint.url, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      await post.text();
    } finally {
      await endpoint.close();
    }
  });
});

describe('ServerMetrics', () => {
  const series = async (metrics: ServerMetrics) =>
    (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('stomp_rpc_'));

  it('exports every error code a server sends, and the processing histogram, at 0 before the first request', async () => {
    const lines = await series(new ServerMetrics({ queue: 'q', inFlight: () => 0 }));
    expect(lines).toContain('stomp_rpc_request_errors_total{queue="q",code="INTERNAL"} 0');
    expect(lines).toContain('stomp_rpc_request_errors_total{queue="q",code="INVALID_ARGUMENT"} 0');
    expect(lines.filter((line) => line.includes('code="TIMEOUT"'))).toEqual([]); // only a client says it
    expect(lines).toContain('stomp_rpc_processing_seconds_count{queue="q"} 0');
    expect(lines.filter((line) => line.startsWith('stomp_rpc_connected'))).toEqual([]); // no server to read
  });

  it('counts a procedure’s requests by outcome, and its time only for those answered, as the announced stats do', async () => {
    const metrics = new ServerMetrics({ queue: 'q', inFlight: () => 0 });
    metrics.requestDone('ABORTED', 5000, 'fib'); // cancelled after 5 s: no reply
    metrics.requestDone(undefined, 10, 'fib');
    metrics.requestDone('INVALID_ARGUMENT', 2, 'fib');
    expect(await series(metrics)).toEqual(
      expect.arrayContaining([
        'stomp_rpc_procedure_requests_total{queue="q",procedure="fib",outcome="ABORTED"} 1',
        'stomp_rpc_procedure_requests_total{queue="q",procedure="fib",outcome="ok"} 1',
        'stomp_rpc_procedure_requests_total{queue="q",procedure="fib",outcome="INVALID_ARGUMENT"} 1',
        'stomp_rpc_procedure_processing_seconds_total{queue="q",procedure="fib"} 0.012',
        'stomp_rpc_requests_total{queue="q"} 2',
      ]),
    );
  });

  it('reads the connection, reconnects, dropped and cancelled requests from the server at each scrape', async () => {
    const server = { state: 'connecting', stats: { reconnects: 0, dropped: 0, cancelled: 0 } };
    const metrics = new ServerMetrics({
      queue: 'q',
      inFlight: () => 0,
      server: () => server as unknown as Pick<RpcServer, 'state' | 'stats'>,
    });
    expect(await series(metrics)).toEqual(
      expect.arrayContaining([
        'stomp_rpc_connected{queue="q"} 0',
        'stomp_rpc_reconnects_total{queue="q"} 0',
        'stomp_rpc_requests_dropped_total{queue="q"} 0',
        'stomp_rpc_requests_cancelled_total{queue="q"} 0',
      ]),
    );
    Object.assign(server, { state: 'connected', stats: { reconnects: 2, dropped: 5, cancelled: 3 } });
    expect(await series(metrics)).toEqual(
      expect.arrayContaining([
        'stomp_rpc_connected{queue="q"} 1',
        'stomp_rpc_reconnects_total{queue="q"} 2',
        'stomp_rpc_requests_dropped_total{queue="q"} 5',
        'stomp_rpc_requests_cancelled_total{queue="q"} 3',
      ]),
    );
    Object.assign(server, { state: 'reconnecting' });
    expect(await series(metrics)).toContain('stomp_rpc_connected{queue="q"} 0');
  });

  it('reads the worker pool at each scrape: threads, busy, jobs waiting, replacements, given up', async () => {
    const pool = { size: 3, busy: 0, waiting: 0, replaced: 0, gaveUp: false };
    const metrics = new ServerMetrics({ queue: 'q', inFlight: () => 0, pool: () => pool });
    expect(await series(metrics)).toEqual(
      expect.arrayContaining([
        'stomp_rpc_worker_threads{queue="q"} 3',
        'stomp_rpc_worker_threads_busy{queue="q"} 0',
        'stomp_rpc_worker_jobs_waiting{queue="q"} 0',
        'stomp_rpc_worker_replacements_total{queue="q"} 0',
        'stomp_rpc_worker_pool_gave_up{queue="q"} 0',
      ]),
    );
    Object.assign(pool, { busy: 3, waiting: 7, replaced: 2, gaveUp: true });
    expect(await series(metrics)).toEqual(
      expect.arrayContaining([
        'stomp_rpc_worker_threads_busy{queue="q"} 3',
        'stomp_rpc_worker_jobs_waiting{queue="q"} 7',
        'stomp_rpc_worker_replacements_total{queue="q"} 2',
        'stomp_rpc_worker_pool_gave_up{queue="q"} 1',
      ]),
    );
    const without = await series(new ServerMetrics({ queue: 'q', inFlight: () => 0 }));
    expect(without.filter((line) => line.startsWith('stomp_rpc_worker'))).toEqual([]);
  });
});
