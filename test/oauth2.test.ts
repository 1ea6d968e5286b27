// Tokens that expire (issue 16), against RabbitMQ's own OAuth 2.0 backend: a side node whose first
// auth backend is rabbit_auth_backend_oauth2, trusting an RSA key made here; the tokens are JWTs
// signed here with short expiry, carrying the browser user's permissions as scopes. The server
// logs in as before, with its internal user (the second backend). No mock: the broker checks
// every signature, audience, expiry and scope. docs/oauth2.md explains the set-up and what was seen.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ConnectionState,
  type Credentials,
  DEFAULT_QUEUE,
  type FibonacciClientOptions,
  FibonacciRpcClient,
} from '@stomp-rpc/client';
import { fibonacciHandler, RpcServer } from '@stomp-rpc/server';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { nodeProfile, webStompUrl } from '../scripts/broker.mjs';
import { openWire } from './stomp-wire.js';
import { rejectionCode, until } from './support.js';

const OAUTH_NODE = 8;
const profile = nodeProfile(OAUTH_NODE);
const OAUTH_URL = webStompUrl(profile);
/** The broker's `auth_oauth2.resource_server_id`: the token's `aud`, and the prefix of its scopes. */
const RESOURCE_SERVER_ID = 'stomp-rpc';
const KEY_ID = 'stomp-rpc-test';

/**
 * rpc-browser's permissions in rabbitmq-conf/definitions.json as scopes (7),
 * `<permission>:<vhost>/<name>[/<routing key>]`, wildcard patterns (`*`), vhost `/` as %2F.
 * A scope with a routing key is a topic permission; it also grants the exchange itself.
 */
const BROWSER_SCOPES = [
  'configure:%2F/amq.gen-*', // the reply queue (/temp-queue/)
  'configure:%2F/stomp-subscription-*', // the presence subscription's queue
  'write:%2F/rpc', // requests go through the rpc exchange only
  'write:%2F/stomp-subscription-*', // pings and cancels go through rpc too: no write on amq.topic
  'read:%2F/amq.gen-*',
  'read:%2F/stomp-subscription-*',
  'read:%2F/amq.topic/rpc.presence',
];

describe('OAuth 2.0 tokens', () => {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    STOMP_RPC_NODE: String(OAUTH_NODE),
    STOMP_URL: '',
    ...extra,
  });
  let server: RpcServer | undefined;

  beforeAll(async () => {
    // The key and the settings live in the node's own (ignored) folder.
    mkdirSync(profile.stateDir, { recursive: true });
    const publicKeyFile = join(profile.stateDir, 'oauth2-signing-key.pem');
    writeFileSync(publicKeyFile, signingKey.publicKey.export({ type: 'spki', format: 'pem' }));
    const config = [
      'auth_backends.1 = rabbit_auth_backend_oauth2',
      'auth_backends.2 = internal',
      `auth_oauth2.resource_server_id = ${RESOURCE_SERVER_ID}`,
      `auth_oauth2.default_key = ${KEY_ID}`,
      `auth_oauth2.signing_keys.${KEY_ID} = ${publicKeyFile}`,
      'auth_oauth2.algorithms.1 = RS256',
    ];
    const configFile = join(profile.stateDir, 'oauth2.conf');
    writeFileSync(configFile, `${config.join('\n')}\n`);
    // A node left running by a run that died trusts another key: start afresh.
    execFileSync(process.execPath, ['scripts/broker.mjs', 'stop'], { env: env(), stdio: 'ignore', timeout: 60_000 });
    execFileSync(process.execPath, ['scripts/broker.mjs', 'start'], {
      env: env({ STOMP_RPC_EXTRA_CONF: configFile, STOMP_RPC_EXTRA_PLUGINS: 'rabbitmq_auth_backend_oauth2' }),
      stdio: 'ignore',
      timeout: 120_000,
    });
    server = new RpcServer({
      url: OAUTH_URL,
      login: 'rpc-server',
      passcode: 'rpc-server',
      queue: DEFAULT_QUEUE,
      handler: fibonacciHandler(),
    });
    await server.start(10_000);
  }, 150_000);

  afterAll(async () => {
    await server?.stop(1000);
    execFileSync(process.execPath, ['scripts/broker.mjs', 'stop'], { env: env(), stdio: 'ignore', timeout: 60_000 });
  }, 70_000);

  /** A JWT as an authorization server would issue it, signed RS256 with `key`. */
  function mintToken(
    options: { expiresInS?: number; scopes?: string[]; audience?: string; key?: KeyObject } = {},
  ): string {
    const nowS = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: KEY_ID };
    const claims = {
      sub: 'page-user',
      aud: options.audience ?? RESOURCE_SERVER_ID,
      scope: (options.scopes ?? BROWSER_SCOPES).map((scope) => `${RESOURCE_SERVER_ID}.${scope}`).join(' '),
      iat: nowS,
      exp: nowS + (options.expiresInS ?? 60),
    };
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const signed = `${encode(header)}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(signed), options.key ?? signingKey.privateKey);
    return `${signed}.${signature.toString('base64url')}`;
  }

  /** When a token expires, in ms since the epoch. */
  const expiryMs = (token: string) =>
    1000 * JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).exp;

  function openClient(options: FibonacciClientOptions): FibonacciRpcClient {
    const client = new FibonacciRpcClient({
      url: OAUTH_URL,
      queue: DEFAULT_QUEUE,
      exchange: 'rpc',
      reconnectDelayMs: 50,
      ...options,
    });
    onTestFinished(() => client.close());
    return client;
  }

  /** A token source that records what it handed out. */
  function tokenSource(next: (asked: number) => string) {
    const tokens: string[] = [];
    const credentials = async (): Promise<Credentials> => {
      const token = next(tokens.length);
      tokens.push(token);
      return { login: '', passcode: token }; // as in the README: the broker names the user after the token's sub
    };
    return { tokens, credentials };
  }

  it('fresh tokens - a client whose credentials() mints a token per connection gets its answer, from the server logged in with its password', async () => {
    const source = tokenSource(() => mintToken());
    const client = openClient({ credentials: source.credentials, watchServers: true });
    const answer = await client.callDetailed(10);
    expect(answer.value).toBe(55n);
    expect(answer.server).toBe(server?.id); // the server's internal login works beside the tokens
    expect(source.tokens).toHaveLength(1);
    // The presence scopes work too (presence has its own topic: the reply may come before it).
    await until(() => client.servers(DEFAULT_QUEUE).length > 0, 5000, 'the server’s announcement or pong');
  });

  it('expired token - refused at login, the fresh one that follows is accepted and the call answered', async () => {
    const source = tokenSource((asked) => mintToken({ expiresInS: asked === 0 ? -5 : 60 }));
    const client = openClient({ credentials: source.credentials });
    await expect(client.call(20)).resolves.toBe(6765n);
    expect(source.tokens).toHaveLength(2);
    expect(expiryMs(source.tokens[0] as string)).toBeLessThan(Date.now());
    expect(client.stats.reconnects).toBe(0); // a refused login is not a reconnect
  });

  it('expiry while connected - the broker keeps the connection; the first request after expiry ends it, and the client comes back with a fresh token', async () => {
    const states = new Map<FibonacciRpcClient, string[]>();
    const connectExpiring = () => {
      const source = tokenSource((asked) => mintToken({ expiresInS: asked === 0 ? 4 : 60 }));
      const seen: string[] = [];
      const client = openClient({
        credentials: source.credentials,
        onStateChange: (state: ConnectionState, reason) => seen.push(reason ? `${state} (${reason.code})` : state),
      });
      states.set(client, seen);
      return { client, source };
    };
    const idempotent = connectExpiring();
    const oneShot = connectExpiring();
    await expect(idempotent.client.call(10)).resolves.toBe(55n);
    await expect(oneShot.client.call(10)).resolves.toBe(55n);
    const expiry = Math.max(
      expiryMs(idempotent.source.tokens[0] as string),
      expiryMs(oneShot.source.tokens[0] as string),
    );
    // Nothing to await: RabbitMQ 3.10 sends nothing when a token expires. Wait past the expiry and
    // past the channel's permission cache (dropped when the channel hibernates, after ~1 s idle).
    await until(() => Date.now() > expiry + 2500, 10_000, 'the tokens to expire');
    expect(states.get(idempotent.client)).toEqual(['connected']);
    expect(states.get(oneShot.client)).toEqual(['connected']);

    // The request is refused (access_refused: the token has expired), which closes the connection.
    // An idempotent call (fib's default) is sent again on the next connection, with a fresh token.
    await expect(idempotent.client.call(11)).resolves.toBe(89n);
    expect(states.get(idempotent.client)).toEqual(['connected', 'reconnecting (CONNECTION_LOST)', 'connected']);
    expect(idempotent.source.tokens).toHaveLength(2);
    expect(idempotent.client.stats.resent).toBe(1);

    // Any other call made at that moment ends with CONNECTION_LOST; the next one is answered.
    expect(await rejectionCode(oneShot.client.call(11, { idempotent: false }))).toBe('CONNECTION_LOST');
    await expect(oneShot.client.call(12, { idempotent: false })).resolves.toBe(144n);
    expect(oneShot.source.tokens).toHaveLength(2);
  });

  it('refused tokens - ready() and the waiting call end with UNAUTHENTICATED once a fresh token was refused too', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    for (const refused of [{ key: otherKey }, { audience: 'another-service' }]) {
      const source = tokenSource(() => mintToken(refused));
      const client = openClient({ credentials: source.credentials });
      const started = Date.now();
      const call = rejectionCode(client.call(1, { timeoutMs: 10_000 }));
      expect(await rejectionCode(client.ready(10_000))).toBe('UNAUTHENTICATED');
      expect(await call).toBe('UNAUTHENTICATED');
      expect(source.tokens).toHaveLength(2);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('scopes - without write on the rpc exchange a request is refused: CONNECTION_LOST, or TIMEOUT for an idempotent call', async () => {
    const withoutWrite = BROWSER_SCOPES.filter((scope) => scope !== 'write:%2F/rpc');
    const wire = await openWire('page-user', mintToken({ scopes: withoutWrite }), OAUTH_URL);
    expect(await wire.attempt('SEND', { destination: `/exchange/rpc/${DEFAULT_QUEUE}` }, '1')).toBe('refused');

    const source = tokenSource(() => mintToken({ scopes: withoutWrite }));
    const client = openClient({ credentials: source.credentials });
    await client.ready(5000); // the login itself is fine
    // Over Web-STOMP 3.10 the refusal only shows as the socket closing ("STOMP died"), so the
    // client cannot tell it from a lost connection.
    expect(await rejectionCode(client.call(10, { idempotent: false }))).toBe('CONNECTION_LOST');
    // An idempotent call is sent again after each reconnect, refused each time, until its deadline.
    expect(await rejectionCode(client.call(10, { timeoutMs: 4000 }))).toBe('TIMEOUT');
    expect(client.stats.reconnects).toBeGreaterThan(1);
    expect(source.tokens.length).toBeGreaterThan(client.stats.reconnects); // a fresh token per connection
  });

  it('internal users - fixed credentials still log in on this node (internal is the second backend)', async () => {
    await expect(openWire('rpc-browser', 'rpc-browser', OAUTH_URL)).resolves.toBeDefined();
    await expect(openWire('rpc-browser', 'wrong', OAUTH_URL)).rejects.toThrow();
  });
});
