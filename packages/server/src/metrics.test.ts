import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ServerMetrics } from './metrics.js';

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
});
