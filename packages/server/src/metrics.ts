/*
 * Prometheus metrics for a server process, with prom-client (the Node ecosystem's standard
 * client): requests and errors by code, a processing-time histogram, requests in flight, the
 * same by procedure for a service (requests by outcome, time spent), the broker connection
 * (connected, reconnects), requests dropped unanswered, the worker pool of large n (threads, busy,
 * jobs waiting, replacements, given up), and prom-client's default process
 * metrics, which include the event-loop delay (nodejs_eventloop_lag_p99_seconds and friends).
 * `serve()` exposes them at /metrics.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ErrorCode } from '@stomp-rpc/client';
import { LATENCY_BOUNDS_MS } from '@stomp-rpc/client/internal';
import { ERROR_CODES, isServerCode } from '@stomp-rpc/client/protocol';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RpcServer, RpcServerObserver } from './rpc-server.js';
import type { WorkerPool } from './worker-pool.js';

export interface ServerMetricsOptions {
  /** The queue served, as the `queue` label. */
  queue: string;
  /** Reads the requests in flight at scrape time. */
  inFlight: () => number;
  /**
   * Reads the server at scrape time, for `stomp_rpc_connected`, `stomp_rpc_reconnects_total` and
   * `stomp_rpc_requests_dropped_total` (without it, those are not exported): a scrape while the
   * broker is away then says so, instead of looking like a quiet server.
   */
  server?: (() => Pick<RpcServer, 'state' | 'stats'> | undefined) | undefined;
  /**
   * Reads the worker pool at scrape time, for the `stomp_rpc_worker_*` metrics (threads, busy,
   * jobs waiting, replacements, given up; without it, those are not exported).
   */
  pool?: (() => Pick<WorkerPool, 'size' | 'busy' | 'waiting' | 'replaced' | 'gaveUp'> | undefined) | undefined;
}

export class ServerMetrics implements RpcServerObserver {
  readonly registry = new Registry();
  readonly #requests: Counter<'queue'>;
  readonly #errors: Counter<'queue' | 'code'>;
  readonly #processing: Histogram<'queue'>;
  readonly #byProcedure: Counter<'queue' | 'procedure' | 'outcome'>;
  readonly #procedureSeconds: Counter<'queue' | 'procedure'>;
  readonly #queue: string;

  constructor({ queue, inFlight, server, pool }: ServerMetricsOptions) {
    this.#queue = queue;
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'stomp_rpc_requests_total',
      help: 'Requests answered (successes and error replies)',
      labelNames: ['queue'],
      registers,
    });
    this.#errors = new Counter({
      name: 'stomp_rpc_request_errors_total',
      help: 'Error replies sent, by error code',
      labelNames: ['queue', 'code'],
      registers,
    });
    this.#processing = new Histogram({
      name: 'stomp_rpc_processing_seconds',
      help: 'Time from a request’s delivery to its reply',
      labelNames: ['queue'],
      buckets: LATENCY_BOUNDS_MS.map((ms) => ms / 1000),
      registers,
    });
    this.#byProcedure = new Counter({
      name: 'stomp_rpc_procedure_requests_total',
      help: 'Requests of a service procedure, by outcome: ok, an error code, or ABORTED (cancelled by the caller)',
      labelNames: ['queue', 'procedure', 'outcome'],
      registers,
    });
    this.#procedureSeconds = new Counter({
      name: 'stomp_rpc_procedure_processing_seconds_total',
      help: 'Time spent on a service procedure’s answered requests, from delivery to reply (cancelled ones have no reply and are left out)',
      labelNames: ['queue', 'procedure'],
      registers,
    });
    scrapedGauge(
      { registry: this.registry, queue },
      'stomp_rpc_in_flight',
      'Requests being handled right now',
      inFlight,
    );
    if (server) this.#meterServer(queue, server);
    if (pool) this.#meterPool(queue, pool);
    // Present from the first scrape, not from the first event: increase() and ratios need a 0 to start from.
    this.#requests.inc({ queue }, 0);
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (isServerCode(code)) this.#errors.inc({ queue, code }, 0);
    }
    this.#processing.zero({ queue });
    collectDefaultMetrics({ register: this.registry });
  }

  #meterServer(queue: string, server: NonNullable<ServerMetricsOptions['server']>): void {
    const scraped = { registry: this.registry, queue };
    scrapedGauge(
      scraped,
      'stomp_rpc_connected',
      'Whether the server is connected to the broker (1) or not (0: connecting, reconnecting, stopped)',
      () => (server()?.state === 'connected' ? 1 : 0),
    );
    scrapedCounter(
      scraped,
      'stomp_rpc_reconnects_total',
      'Connections to the broker made again after one was lost',
      () => server()?.stats.reconnects ?? 0,
    );
    scrapedCounter(
      scraped,
      'stomp_rpc_requests_dropped_total',
      'Requests dropped unanswered (no usable reply-to or correlation-id): their callers time out; the log says why',
      () => server()?.stats.dropped ?? 0,
    );
    scrapedCounter(
      scraped,
      'stomp_rpc_requests_cancelled_total',
      'Requests stopped unanswered because their caller cancelled them, for any handler (a caller’s timeout is counted as DEADLINE_EXCEEDED instead)',
      () => server()?.stats.cancelled ?? 0,
    );
  }

  #meterPool(queue: string, pool: NonNullable<ServerMetricsOptions['pool']>): void {
    const scraped = { registry: this.registry, queue };
    scrapedGauge(
      scraped,
      'stomp_rpc_worker_threads',
      'Worker threads for large n (after the pool gave up, those left end, a busy one once its job is done)',
      () => pool()?.size ?? 0,
    );
    scrapedGauge(
      scraped,
      'stomp_rpc_worker_threads_busy',
      'Worker threads not free for a job (computing one, or being stopped after a cancel or a give-up); all busy with jobs waiting: more --workers, or more servers',
      () => pool()?.busy ?? 0,
    );
    scrapedGauge(
      scraped,
      'stomp_rpc_worker_jobs_waiting',
      'fib(n) computations waiting for a free worker thread',
      () => pool()?.waiting ?? 0,
    );
    scrapedCounter(
      scraped,
      'stomp_rpc_worker_replacements_total',
      'Worker threads that died and were replaced (the job one held, if any, failed with INTERNAL)',
      () => pool()?.replaced ?? 0,
    );
    scrapedGauge(
      scraped,
      'stomp_rpc_worker_pool_gave_up',
      'Whether the pool gave up on worker threads that kept dying (1): large n are then computed on the event loop',
      () => (pool()?.gaveUp ? 1 : 0),
    );
  }

  requestDone(code: ErrorCode | undefined, processingMs: number, procedure?: string): void {
    const queue = this.#queue;
    if (procedure !== undefined) this.#byProcedure.inc({ queue, procedure, outcome: code ?? 'ok' });
    if (code === 'ABORTED') return; // cancelled: no reply went out, so no time to a reply either
    if (procedure !== undefined) this.#procedureSeconds.inc({ queue, procedure }, processingMs / 1000);
    this.#requests.inc({ queue });
    if (code !== undefined) this.#errors.inc({ queue, code });
    this.#processing.observe({ queue }, processingMs / 1000);
  }

  /** Serves GET /metrics on `host:port` (port 0 picks a free one); resolves once listening. */
  async serve(port: number, host = '127.0.0.1'): Promise<{ url: string; close: () => Promise<void> }> {
    const http = createServer((request, response) => {
      if (request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('GET or HEAD only\n');
        return;
      }
      this.registry.metrics().then(
        // HEAD: the headers only (Node sends no body for it), for probes that check the endpoint.
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
    const { port: bound } = http.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${shownHost}:${bound}/metrics`,
      // close() alone waits for every open connection, and a scraper that stalls mid-request would
      // hold the server's shutdown until Node's request timeout (minutes); cut them instead.
      close: () =>
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
    };
  }
}

/** Where a metric read at scrape time goes: the registry, and the `queue` label's value. */
interface Scraped {
  registry: Registry;
  queue: string;
}

/** A gauge set from `read()` at each scrape. */
function scrapedGauge({ registry, queue }: Scraped, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.set({ queue }, read());
    },
  });
}

/** A counter whose count something else keeps (never going down): each scrape copies `read()`. */
function scrapedCounter({ registry, queue }: Scraped, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ queue }, read());
    },
  });
}
