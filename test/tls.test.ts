// TLS: calls over wss:// to a side node with a throwaway self-signed certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FibonacciRpcClient, isRpcError } from '@stomp-rpc/client';
import { fibonacciHandler, RpcServer } from '@stomp-rpc/server';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { nodeProfile } from '../scripts/broker.mjs';
import { uniqueQueue } from './support.js';

describe('TLS', () => {
  // A side node with a wss:// listener and a throwaway self-signed certificate made here.
  const TLS_NODE = 9;
  const profile = nodeProfile(TLS_NODE);
  const tlsPort = profile.ports.webStomp + 1;
  const tlsUrl = `wss://127.0.0.1:${tlsPort}/ws`;
  let dir = '';
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    STOMP_RPC_NODE: String(TLS_NODE),
    STOMP_URL: '',
    ...extra,
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stomp-rpc-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const config = [
      `web_stomp.ssl.port = ${tlsPort}`,
      'web_stomp.ssl.ip = 127.0.0.1',
      `web_stomp.ssl.certfile = ${join(dir, 'cert.pem')}`,
      `web_stomp.ssl.keyfile = ${join(dir, 'key.pem')}`,
    ];
    writeFileSync(join(dir, 'tls.conf'), `${config.join('\n')}\n`);
    // A node left running by a run that died serves a certificate from a folder since removed: start afresh.
    execFileSync(process.execPath, ['scripts/broker.mjs', 'stop'], { env: env(), stdio: 'ignore', timeout: 60_000 });
    execFileSync(process.execPath, ['scripts/broker.mjs', 'start'], {
      env: env({ STOMP_RPC_EXTRA_CONF: join(dir, 'tls.conf') }),
      stdio: 'ignore',
      timeout: 120_000,
    });
  }, 150_000);

  afterAll(() => {
    execFileSync(process.execPath, ['scripts/broker.mjs', 'stop'], { env: env(), stdio: 'ignore', timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }, 70_000);

  /** Options for Node's ws: trust only the throwaway certificate. */
  const trusting = () => ({ ca: readFileSync(join(dir, 'cert.pem')) });

  it('wss - a call over TLS to a server over TLS is answered (webSocketOptions with the CA)', async () => {
    const queue = uniqueQueue('tls');
    const server = new RpcServer({ url: tlsUrl, webSocketOptions: trusting(), queue, handler: fibonacciHandler() });
    onTestFinished(() => server.stop(1000));
    await server.start(10_000);
    const client = new FibonacciRpcClient({ url: tlsUrl, webSocketOptions: trusting(), queue });
    onTestFinished(() => client.close());
    await expect(client.call(30)).resolves.toBe(832040n);
  });

  it('wss - a client that does not trust the certificate cannot connect', async () => {
    const client = new FibonacciRpcClient({ url: tlsUrl, queue: uniqueQueue('untrusted'), connectTimeoutMs: 2000 });
    onTestFinished(() => client.close());
    const error = await client.ready(3000).catch((thrown: unknown) => thrown);
    expect(isRpcError(error) && error.code).toBe('UNAVAILABLE');
    expect(String((error as Error).message)).toMatch(/certificate/i);
  });
});
