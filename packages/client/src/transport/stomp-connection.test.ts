import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { FakeSocket } from '../../test/fake-socket.js';
import { RpcError } from '../errors.js';
import { VHOST_DENIED_FINAL_MS } from './credentials.js';
import { isFatalStompClose, isOversizedFrameClose } from './end-reason.js';
import { closedSocket, StompConnection, type StompConnectionOptions, type StompSocket } from './stomp-connection.js';

const URLS = ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws', 'ws://127.0.0.1:3/ws'];

/** The URLs of the first `attempts` connection attempts; every attempt is refused at once. */
async function attemptedUrls(options: { randomizeUrls?: boolean }, attempts: number): Promise<string[]> {
  const tried: string[] = [];
  const refused = (url: string): StompSocket => {
    tried.push(url);
    return closedSocket();
  };
  const connection = new StompConnection({ url: URLS, webSocketFactory: refused, reconnectDelayMs: 1, ...options });
  connection.start();
  await vi.waitFor(() => expect(tried.length).toBeGreaterThanOrEqual(attempts), { timeout: 2000 });
  await connection.close();
  return tried.slice(0, attempts);
}

describe('StompConnection broker URLs', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('starts from a random URL of the list, so that clients spread over cluster nodes, then rotates', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // index floor(0.5 * 3) = 1
    expect(await attemptedUrls({}, 4)).toEqual([URLS[1], URLS[2], URLS[0], URLS[1]]);
  });

  it('a user and password in the URL are used to connect but never shown: not in url, nor in errors', async () => {
    const opened: string[] = [];
    const connection = new StompConnection({
      url: 'ws://alice:s3cret@127.0.0.1:1/ws',
      reconnectDelayMs: 1,
      webSocketFactory: (url) => {
        opened.push(url);
        return closedSocket();
      },
    });
    connection.start();
    await vi.waitFor(() => expect(connection.lastError).toBeDefined(), { timeout: 2000 });
    expect(opened[0]).toBe('ws://alice:s3cret@127.0.0.1:1/ws');
    expect(connection.url).toBe('ws://127.0.0.1:1/ws');
    expect(connection.lastError?.message).not.toContain('s3cret');
    const waited = await connection.whenConnected(1).catch((error: RpcError) => error);
    expect(`${waited?.message} ${(waited?.cause as Error | undefined)?.message}`).not.toContain('s3cret');
    expect(waited?.message).toContain('ws://127.0.0.1:1/ws');
    await connection.close();
    const throwing = new StompConnection({
      url: 'ws://alice:s3cret@127.0.0.1:1/ws',
      webSocketFactory: () => {
        throw new Error('no sockets here');
      },
    });
    throwing.start();
    await vi.waitFor(() => expect(throwing.lastError?.message).toContain('no sockets here'), { timeout: 2000 });
    expect(throwing.lastError?.message).toBe('cannot open ws://127.0.0.1:1/ws: no sockets here');
    await throwing.close();
  });

  // Regression: the browser throws a SecurityError for ws:// from an https page at every attempt;
  // the client retried, and each call ended TIMEOUT (retry: true) at its deadline.
  it('a URL the browser refuses to open (a SecurityError) is INVALID_ARGUMENT: ready() rejects with it at once, and again later', async () => {
    vi.stubGlobal('location', { protocol: 'https:' });
    onTestFinished(() => {
      vi.unstubAllGlobals();
    });
    let attempts = 0;
    const connection = new StompConnection({
      url: 'ws://user:secret@broker.example/ws',
      reconnectDelayMs: 1,
      webSocketFactory: () => {
        attempts++;
        throw new DOMException(
          'An insecure WebSocket connection may not be initiated from a page loaded over HTTPS.',
          'SecurityError',
        );
      },
    });
    onTestFinished(() => connection.close());
    connection.start();
    const refusal = {
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(
        /^the browser refuses to open ws:\/\/broker\.example\/ws \(a page served over https may open only wss:\/\/ URLs\): An insecure/,
      ),
    };
    await expect(connection.whenConnected(60_000)).rejects.toMatchObject(refusal);
    await new Promise((resolve) => setTimeout(resolve, 50)); // many backoffs of 1 ms
    await expect(connection.whenConnected(60_000)).rejects.toMatchObject(refusal);
    expect(attempts).toBe(1); // no attempt after: none can succeed while the page lives
    // One URL of a list refused: the others are tried, and it is not final until all are refused.
    const tried: string[] = [];
    const mixed = new StompConnection({
      url: ['ws://insecure.example/ws', 'wss://secure.example/ws'],
      randomizeUrls: false,
      reconnectDelayMs: 1,
      webSocketFactory: (url) => {
        tried.push(url);
        if (url.startsWith('ws:')) throw new DOMException('An insecure WebSocket connection …', 'SecurityError');
        return closedSocket();
      },
    });
    onTestFinished(() => mixed.close());
    mixed.start();
    await vi.waitFor(() => expect(tried.length).toBeGreaterThan(2), { timeout: 2000 });
    await expect(mixed.whenConnected(10)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(tried.filter((url) => url.startsWith('ws:'))).toEqual(['ws://insecure.example/ws']); // tried once
    // Every URL of a list refused: final, each tried once.
    const refusedAll: string[] = [];
    const secureNone = new StompConnection({
      url: ['ws://a.example/ws', 'ws://b.example/ws'],
      reconnectDelayMs: 1,
      webSocketFactory: (url) => {
        refusedAll.push(url);
        throw new DOMException('An insecure WebSocket connection …', 'SecurityError');
      },
    });
    onTestFinished(() => secureNone.close());
    secureNone.start();
    await expect(secureNone.whenConnected(60_000)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(refusedAll.sort()).toEqual(['ws://a.example/ws', 'ws://b.example/ws']);
    // Another reason to fail to open stays UNAVAILABLE, and retried: only the browser's refusal is final.
    const failing = new StompConnection({
      url: 'ws://127.0.0.1:1/ws',
      reconnectDelayMs: 1,
      webSocketFactory: () => {
        throw new Error('no sockets left');
      },
    });
    onTestFinished(() => failing.close());
    failing.start();
    await expect(failing.whenConnected(200)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('no sockets left'),
    });
  });

  it('a credentials source or webSocketFactory that is not a function is INVALID_ARGUMENT at construction, not UNAVAILABLE on every attempt for ever', () => {
    for (const name of ['credentials', 'webSocketFactory']) {
      const build = () => new StompConnection({ url: URLS, [name]: { login: 'u', passcode: 'p' } });
      expect(build, name).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `${name} must be a function` }),
      );
    }
  });

  it('a URL with a #fragment, which browsers refuse to open, is INVALID_ARGUMENT at construction', () => {
    for (const url of ['ws://127.0.0.1:15674/ws#', 'wss://host/ws#x', ['ws://a/ws', 'ws://b/ws#']]) {
      expect(() => new StompConnection({ url }), JSON.stringify(url)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('#fragment') }),
      );
    }
  });

  it('a URL refused at construction is shown without its user and password, even one that does not parse', () => {
    for (const url of [
      'http://rpc-server:s3cret@broker/ws',
      'ws://u:s3cret@host/ws#x',
      'ws://u:s3cret@[host/ws',
      // A password holding '/', '?' or '#' makes the URL unparsable at that character.
      'ws://bob:s3cret/9xQ+z@127.0.0.1:1/ws',
      'ws://u:s3cret?x@host/ws',
      'ws://u:s3cret#x@host/ws',
      'guest:s3cret@localhost:15674/ws', // no scheme: "guest:" is read as one
    ]) {
      expect(() => new StompConnection({ url }), url).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.not.stringContaining('s3cret') }),
      );
    }
    expect(() => new StompConnection({ url: 'http://u:p@broker/ws' })).toThrow(/got "http:\/\/broker\/ws"$/);
    expect(() => new StompConnection({ url: 'ws://bob:s3cret/9xQ+z@127.0.0.1:1/ws' })).toThrow(
      /got "ws:\/\/127\.0\.0\.1:1\/ws"$/,
    );
    // It parses, but wrongly (host "admin", port 1234, the rest a path): not shown either.
    expect(new StompConnection({ url: 'ws://admin:1234/s3cret@broker:15674/ws' }).url).toBe('ws://broker:15674/ws');
  });

  it('with randomizeUrls false, starts from the first URL', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    expect(await attemptedUrls({ randomizeUrls: false }, 3)).toEqual(URLS);
  });
});

describe('StompConnection and the broker’s ERROR frames', () => {
  /** A connection whose sockets the test plays the broker on; its owner subscribes on every connect. */
  function connectionWithOwner(onDisconnected?: () => void) {
    const sockets: FakeSocket[] = [];
    const lost: RpcError[] = [];
    let connects = 0;
    const connection = new StompConnection(
      {
        url: URLS[0],
        reconnectDelayMs: 1,
        webSocketFactory: () => {
          const socket = new FakeSocket();
          sockets.push(socket);
          return socket;
        },
      },
      {
        onConnected: () => {
          connects++;
          connection.subscribe('/queue/q', () => {}, {});
        },
        onDisconnected: (reason) => {
          lost.push(reason);
          onDisconnected?.();
        },
      },
    );
    const accept = async (index: number) => {
      await vi.waitFor(() => expect(sockets.length).toBeGreaterThan(index), { timeout: 2000 });
      const socket = sockets[index] as FakeSocket;
      socket.open();
      socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
      return socket;
    };
    return { connection, sockets, lost, accept, connects: () => connects };
  }

  it('a subscription the broker cancels (its queue deleted): it reconnects and its owner subscribes again', async () => {
    const { connection, sockets, lost, accept, connects } = connectionWithOwner();
    connection.start();
    const first = await accept(0);
    const subscribe = first.sent.find((frame) => frame.startsWith('SUBSCRIBE')) ?? '';
    const id = /\nid:([^\n]+)/.exec(subscribe)?.[1];
    first.receive(`ERROR\nmessage:Server cancelled subscription\nsubscription:${id}\n\n`);
    const second = await accept(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ code: 'CONNECTION_LOST' });
    expect(lost[0]?.message).toContain(`cancelled subscription ${id}`);
    expect(connects()).toBe(2);
    expect(second.sent.filter((frame) => frame.startsWith('SUBSCRIBE'))).toHaveLength(1);
    expect(sockets).toHaveLength(2);
    await connection.close(0);
  });

  it('a live connection whose socket errs, then closes (a browser, when the broker dies), is CONNECTION_LOST; one never made is UNAVAILABLE', async () => {
    const { connection, sockets, lost, accept } = connectionWithOwner();
    connection.start();
    const first = await accept(0);
    first.onerror?.({ type: 'error' } as never);
    first.closedByPeer(1006);
    await vi.waitFor(() => expect(sockets).toHaveLength(2), { timeout: 2000 });
    expect(lost[0]).toMatchObject({
      code: 'CONNECTION_LOST',
      message: `lost the connection to ${URLS[0]}: WebSocket error`,
    });
    const second = sockets[1] as FakeSocket;
    second.onerror?.({ type: 'error', message: 'connect ECONNREFUSED' } as never);
    second.closedByPeer(1006);
    await vi.waitFor(() => expect(connection.lastError?.code).toBe('UNAVAILABLE'), { timeout: 2000 });
    expect(connection.lastError?.message).toBe(`cannot reach ${URLS[0]}: connect ECONNREFUSED`);
    expect(lost).toHaveLength(1);
    await connection.close(0);
  });

  it('an owner whose callback throws: the error reaches the caller, and reconnecting goes on', async () => {
    const { connection, accept, connects } = connectionWithOwner(() => {
      throw new Error('a bug in the owner');
    });
    connection.start();
    const first = await accept(0);
    expect(() => first.closedByPeer(1006)).toThrow('a bug in the owner');
    await accept(1);
    expect(connects()).toBe(2);
    await connection.close(0);
  });

  it("a vhost's refusal (RabbitMQ's answer at its connection limit too) is retried, final once it went on for 10 s; a user's refused login is final at once", async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // the connection's own timers run as usual
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const { connection, sockets, accept } = connectionWithOwner();
    connection.start();
    const refuse = async (index: number, body: string, on = sockets) => {
      await vi.waitFor(() => expect(on.length).toBeGreaterThan(index), { timeout: 2000 });
      const socket = on[index] as FakeSocket;
      socket.open();
      socket.receive(`ERROR\nmessage:Bad CONNECT\ncontent-type:text/plain\n\n${body}\n`);
    };
    const denied = "Virtual host '/' access denied";
    for (let attempt = 0; attempt < 4; attempt++) await refuse(attempt, denied); // quick ones: a limit, maybe
    await vi.waitFor(() => expect(sockets).toHaveLength(5), { timeout: 2000 }); // tried again
    expect(connection.refusal).toBeUndefined();
    expect(connection.lastError).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('access denied'),
    });
    vi.setSystemTime(Date.now() + VHOST_DENIED_FINAL_MS);
    await refuse(4, denied);
    await vi.waitFor(() => expect(connection.refusal?.code).toBe('UNAUTHENTICATED'), { timeout: 2000 });
    expect(connection.refusal?.message).toContain('access denied');
    await accept(5); // it goes on trying: one that gets in ends the refusal, and starts the count anew
    expect(connection.refusal).toBeUndefined();
    await connection.close(0);
    const user = connectionWithOwner();
    user.connection.start();
    await refuse(0, "Access refused for user 'guest'", user.sockets);
    await vi.waitFor(() => expect(user.connection.refusal?.code).toBe('UNAUTHENTICATED'), { timeout: 2000 });
    await expect(user.connection.whenConnected(1000)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await user.connection.close(0);
  });

  it('a debug callback that throws stops no frame: the connection is made, and a SEND goes out', async () => {
    const sockets: FakeSocket[] = [];
    const connection = new StompConnection({
      url: URLS[0],
      webSocketFactory: () => sockets[sockets.push(new FakeSocket()) - 1] as FakeSocket,
      debug: () => {
        throw new Error('the log is full');
      },
    });
    connection.start();
    await vi.waitFor(() => expect(sockets).toHaveLength(1), { timeout: 2000 });
    const socket = sockets[0] as FakeSocket;
    socket.open();
    expect(socket.sent[0]).toMatch(/^CONNECT\n/);
    socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    expect(connection.connected).toBe(true);
    connection.publish({ destination: '/queue/q', body: 'x', headers: {} });
    expect(socket.sent.at(-1)).toMatch(/^SEND\ndestination:\/queue\/q\n/);
    await connection.close(0);
  });

  it('an ERROR while closing ends nothing early: the DISCONNECT still waits for its RECEIPT', async () => {
    const { connection, sockets, accept } = connectionWithOwner();
    connection.start();
    const socket = await accept(0);
    const closing = connection.close(5000);
    expect(socket.sent.at(-1)).toMatch(/^DISCONNECT\n/);
    socket.receive('ERROR\nmessage:access refused\n\n');
    expect(socket.closeCalls).toBe(0);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    expect(socket.closeCalls).toBe(1);
    socket.closedByPeer();
    await closing;
    expect(sockets).toHaveLength(1);
  });
});

/**
 * A connection on fake sockets, with fake timers (the test advances time); `sockets` fills per
 * attempt. `backoffMs`: the delay before every reconnect (first and cap alike).
 */
function fakeTimedConnection(options: StompConnectionOptions, backoffMs = 1) {
  const sockets: FakeSocket[] = [];
  const failed: RpcError[] = [];
  const lost: RpcError[] = [];
  const connection = new StompConnection(
    {
      url: URLS[0],
      reconnectDelayMs: backoffMs,
      maxReconnectDelayMs: backoffMs,
      webSocketFactory: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      ...options,
    },
    { onConnectFailed: (reason) => failed.push(reason), onDisconnected: (reason) => lost.push(reason) },
  );
  /** close() with fake timers: its grace timer runs when time is advanced. */
  const close = async () => {
    const closing = connection.close(0);
    await vi.advanceTimersByTimeAsync(0);
    await closing;
  };
  return { connection, sockets, failed, lost, close };
}

/** Starts `connection` and has the broker accept its first socket, which it returns. */
async function connectFirst(connection: StompConnection, sockets: FakeSocket[]): Promise<FakeSocket> {
  connection.start();
  await vi.advanceTimersByTimeAsync(0);
  const socket = sockets[0] as FakeSocket;
  socket.open();
  socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
  return socket;
}

describe('StompConnection attempts and closing', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an attempt that never opens is given up after connectTimeoutMs, and the next one follows its backoff', async () => {
    const { connection, sockets, failed, close } = fakeTimedConnection({ connectTimeoutMs: 1000 }, 3000);
    connection.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(sockets).toHaveLength(1);
    expect(failed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ code: 'UNAVAILABLE' });
    expect(failed[0]?.message).toContain('no STOMP session with ws://127.0.0.1:1/ws within 1000 ms');
    expect(sockets[0]?.closeCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1000); // within the backoff (3000 ms, jittered by at most half)
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(sockets).toHaveLength(2);
    await close();
  });

  it('close() during the backoff: it resolves at once, no attempt follows and no timer is left', async () => {
    const { connection, sockets } = fakeTimedConnection({}, 10_000);
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]?.closedByPeer(1006); // refused: the next attempt waits for the backoff
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await connection.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('a connection silent for longer than the broker allows is replaced at once, without the backoff', async () => {
    const { connection, sockets, lost, close } = fakeTimedConnection({ keepaliveMs: 20_000 }, 10_000);
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]?.open();
    sockets[0]?.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    expect(connection.connected).toBe(true);
    // The machine sleeps for 70 s: the clock jumps, no timer ran meanwhile.
    vi.setSystemTime(Date.now() + 70_000);
    await vi.advanceTimersByTimeAsync(20_000); // the keepalive's timer finds the silence
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ code: 'CONNECTION_LOST' });
    expect(sockets[0]?.sent.at(-1)).not.toBe('\n'); // nothing was sent on the presumed-dead socket
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets).toHaveLength(2); // at once, not after 10 s
    await close();
  });

  it.each([
    ['', false],
    [', even after reading a heart-beat that waited', true],
  ])(
    'a frame sent after a silence the broker would not allow, before the page-return check ran, is refused and the connection replaced%s',
    async (_, beatWaited) => {
      const { connection, sockets, lost, close } = fakeTimedConnection({ keepaliveMs: 20_000 }, 10_000);
      const socket = await connectFirst(connection, sockets);
      // The page was frozen for 70 s; its own code runs before the client's check (or any timer).
      vi.setSystemTime(Date.now() + 70_000);
      const sent = socket.sent.length;
      if (beatWaited) socket.receive('\n');
      expect(() => connection.publish({ destination: '/queue/q', body: '1', headers: {} })).toThrow('not connected');
      expect(socket.sent).toHaveLength(sent); // nothing written to the presumed-dead socket
      expect(lost).toEqual([expect.objectContaining({ code: 'CONNECTION_LOST' })]);
      await vi.advanceTimersByTimeAsync(0);
      expect(sockets).toHaveLength(2); // at once, not after the backoff
      await close();
    },
  );

  it('credentials() failing, then an attempt failing for another reason: that reason and its code, not UNAUTHENTICATED (no login was refused)', async () => {
    let answered = false;
    const { connection, sockets, failed, close } = fakeTimedConnection({
      credentials: () => {
        if (answered) throw new Error('token endpoint down');
        answered = true;
        return { login: 'u', passcode: 'token' };
      },
    });
    const waiting = connection.whenConnected(60_000).catch((error: RpcError) => error);
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    (sockets[0] as FakeSocket).closedByPeer(1006); // unreachable, with fresh credentials
    await vi.advanceTimersByTimeAsync(10);
    const socket = sockets[1] as FakeSocket; // the next attempt goes with the last credentials
    (socket.onerror as ((event: unknown) => void) | null)?.({ message: 'connect ECONNREFUSED 127.0.0.1:1' });
    socket.closedByPeer(1006);
    expect(failed[1]).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(failed[1]?.message).toContain('credentials() failed: token endpoint down');
    await close();
    expect(await waiting).toMatchObject({ code: 'CLOSED' }); // not ended early as UNAUTHENTICATED
  });

  it('credentials() failing from the start: no attempt goes out, not even as the default guest, until it answers', async () => {
    let down = true;
    const { connection, sockets, failed, close } = fakeTimedConnection({
      credentials: () => {
        if (down) throw new Error('token endpoint down');
        return { login: 'u', passcode: 'token' };
      },
    });
    connection.start();
    await vi.advanceTimersByTimeAsync(50); // several attempts, 1 ms apart
    expect(sockets).toEqual([]);
    expect(failed.length).toBeGreaterThan(1);
    expect(failed[0]).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('credentials() failed: token endpoint down'),
    });
    down = false;
    await vi.advanceTimersByTimeAsync(10);
    expect(sockets).toHaveLength(1);
    sockets[0]?.open();
    expect(sockets[0]?.sent[0]).toMatch(/^CONNECT\n(.*\n)*login:u\n/);
    await close();
  });

  it('a fresh token refused, then the endpoint down and the old token refused again: not final, since no second fresh one was refused', async () => {
    let answered = false;
    const { connection, sockets, failed, close } = fakeTimedConnection({
      credentials: () => {
        if (answered) throw new Error('token endpoint down');
        answered = true;
        return { login: 'u', passcode: 'expired-on-the-way' };
      },
    });
    const waiting = connection.whenConnected(60_000).catch((error: RpcError) => error);
    connection.start();
    for (const index of [0, 1]) {
      await vi.advanceTimersByTimeAsync(10);
      const socket = sockets[index] as FakeSocket;
      socket.open();
      socket.receive('ERROR\nmessage:Bad CONNECT\n\naccess refused for user');
      socket.closedByPeer(1000);
    }
    expect(failed.map((reason) => reason.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    await close();
    expect(await waiting).toMatchObject({ code: 'CLOSED' });
  });

  it('after a final refusal, ready() asked later fails at once with UNAUTHENTICATED, not with UNAVAILABLE at its timeout', async () => {
    const { connection, sockets, close } = fakeTimedConnection({}, 10_000);
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = sockets[0] as FakeSocket;
    socket.open();
    socket.receive('ERROR\nmessage:Bad CONNECT\n\naccess refused for user');
    socket.closedByPeer(1000);
    const later = connection.whenConnected(300).catch((error: RpcError) => error);
    await vi.advanceTimersByTimeAsync(0);
    expect(await later).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('Bad CONNECT') });
    expect(connection.refusal).toMatchObject({ code: 'UNAUTHENTICATED' });
    await close();
  });

  it('a close with 1009 (a frame over the broker’s limit) is named as such; a 1009 before CONNECTED is not', async () => {
    const { connection, sockets, lost, close } = fakeTimedConnection({});
    const socket = await connectFirst(connection, sockets);
    socket.receive('ERROR\nmessage:Unknown destination\n\n'); // one the connection survives, just before
    socket.closedByPeer(1009);
    expect(isFatalStompClose(lost[0] as RpcError)).toBe(false);
    expect(isOversizedFrameClose(lost[0] as RpcError)).toBe(true);
    expect(lost[0]).toMatchObject({
      code: 'CONNECTION_LOST',
      message: expect.stringMatching(/closed the connection on a frame over its size limit \(WebSocket close 1009\)$/),
    });
    await vi.advanceTimersByTimeAsync(10);
    const attempt = connection.whenConnected(5000).catch((error: RpcError) => error);
    (sockets[1] as FakeSocket).closedByPeer(1009);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await attempt).toMatchObject({ message: expect.stringContaining('WebSocket closed with code 1009') });
    await close();
  });

  it('an ERROR the connection survives (an unknown destination) does not become the reason of a close long after', async () => {
    const { connection, sockets, lost, close } = fakeTimedConnection({});
    const socket = await connectFirst(connection, sockets);
    socket.receive('ERROR\nmessage:Unknown destination\n\n');
    socket.receive('\n'); // still alive: a heart-beat
    socket.closedByPeer(1006);
    expect(lost[0]).toMatchObject({ code: 'CONNECTION_LOST', message: expect.stringContaining('code 1006') });
    await vi.advanceTimersByTimeAsync(10);
    // and an ERROR the broker closes the connection after is still its reason
    const next = sockets[1] as FakeSocket;
    next.open();
    next.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    next.receive('ERROR\nmessage:not_found\n\nNOT_FOUND - no queue');
    next.closedByPeer(1000);
    expect(lost[1]).toMatchObject({
      code: 'CONNECTION_LOST',
      message: expect.stringContaining('broker error: not_found'),
    });
    await close();
  });

  it('a page coming back online retries at once, also when it has never connected yet', async () => {
    const page = new EventTarget();
    const global = globalThis as unknown as Record<string, unknown>;
    global.addEventListener = page.addEventListener.bind(page);
    global.removeEventListener = page.removeEventListener.bind(page);
    try {
      const { connection, sockets, close } = fakeTimedConnection({}, 10_000);
      connection.start();
      await vi.advanceTimersByTimeAsync(0);
      sockets[0]?.closedByPeer(1006); // offline: the next attempt waits for the backoff
      await vi.advanceTimersByTimeAsync(100);
      expect(connection.state).toBe('connecting');
      expect(sockets).toHaveLength(1);
      page.dispatchEvent(new Event('online'));
      await vi.advanceTimersByTimeAsync(0);
      expect(sockets).toHaveLength(2);
      await close();
    } finally {
      delete global.addEventListener;
      delete global.removeEventListener;
    }
  });

  it('a dropped connection’s socket is terminated even when a callback of its owner throws', async () => {
    const sockets: FakeSocket[] = [];
    const connection = new StompConnection(
      {
        url: URLS[0],
        reconnectDelayMs: 1,
        webSocketFactory: () => {
          const socket = new FakeSocket();
          socket.terminate = () => socket.terminations++;
          sockets.push(socket);
          return socket;
        },
      },
      {
        onDisconnected: () => {
          throw new Error('a bug in the owner');
        },
      },
    );
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = sockets[0] as FakeSocket;
    socket.open();
    socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    expect(() => connection.drop(new RpcError('CONNECTION_LOST', 'misbehaves'))).toThrow('a bug in the owner');
    expect(socket.terminations).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(sockets).toHaveLength(2); // and reconnecting goes on
    const closing = connection.close(0);
    await vi.advanceTimersByTimeAsync(0);
    await closing;
  });

  it('close() is bounded by its grace even when the socket never reports its close', async () => {
    const { connection, sockets } = fakeTimedConnection({});
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = sockets[0] as FakeSocket;
    socket.terminate = () => {}; // a factory's socket that says nothing when dropped
    socket.open();
    socket.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    let closed = false;
    void connection.close(100).then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(closed).toBe(false); // waiting for the DISCONNECT's RECEIPT
    await vi.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
  });

  it('close() called twice: the second settles with the first, once the DISCONNECT has its RECEIPT, not before', async () => {
    const { connection, sockets } = fakeTimedConnection({});
    const socket = await connectFirst(connection, sockets);
    const settled: string[] = [];
    void connection.close(5000).then(() => settled.push('first'));
    void connection.close(5000).then(() => settled.push('second'));
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toEqual([]);
    expect(socket.sent.filter((frame) => frame.startsWith('DISCONNECT'))).toHaveLength(1);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(['first', 'second']);
  });

  it('onStateChange(connected) comes once the owner has set the connection up, and before ready() resolves', async () => {
    // A client's owner opens its server discovery in onConnected: a call made from onStateChange
    // ('connected') with whenNoServers 'fail' was refused NO_SERVERS before discovery had begun.
    const sockets: FakeSocket[] = [];
    const seen: string[] = [];
    const connection: StompConnection = new StompConnection(
      { url: URLS[0], webSocketFactory: () => sockets[sockets.push(new FakeSocket()) - 1] as FakeSocket },
      {
        onConnected: () => seen.push(`onConnected (${connection.connected ? 'can send' : 'cannot send'})`),
        onStateChange: (state) => seen.push(`state ${state}`),
      },
    );
    void connection.whenConnected(5000).then(() => seen.push('ready'));
    const socket = await connectFirst(connection, sockets);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['onConnected (can send)', 'state connected', 'ready']);
    void connection.close(5000);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer();
    await vi.advanceTimersByTimeAsync(0);
  });

  // Regression: ready() resolved while the connection was already reconnecting, when its owner
  // dropped it from onConnected.
  it('a connection its owner drops while setting it up: ready() waits for the next one, and no onStateChange(connected) for it', async () => {
    const sockets: FakeSocket[] = [];
    const states: string[] = [];
    let connects = 0;
    const connection: StompConnection = new StompConnection(
      {
        url: URLS[0],
        reconnectDelayMs: 1000,
        webSocketFactory: () => sockets[sockets.push(new FakeSocket()) - 1] as FakeSocket,
      },
      {
        onConnected: () => {
          if (++connects === 1) connection.drop(new RpcError('CONNECTION_LOST', 'refused by the owner'));
        },
        onStateChange: (state) => states.push(state),
      },
    );
    let ready = false;
    void connection.whenConnected(60_000).then(() => {
      ready = true;
    });
    await connectFirst(connection, sockets);
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.state).toBe('reconnecting');
    expect(ready).toBe(false);
    await vi.advanceTimersByTimeAsync(2000); // the backoff: the next attempt opens
    const second = sockets[1] as FakeSocket;
    second.open();
    second.receive('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(ready).toBe(true);
    expect(states).toEqual(['reconnecting', 'connected']);
    void connection.close(0);
    await vi.advanceTimersByTimeAsync(0);
  });

  it('close() called again from onStateChange(closed): both settle, and one DISCONNECT is written', async () => {
    const sockets: FakeSocket[] = [];
    let nested: Promise<void> | undefined;
    const connection: StompConnection = new StompConnection(
      { url: URLS[0], webSocketFactory: () => sockets[sockets.push(new FakeSocket()) - 1] as FakeSocket },
      {
        onStateChange: (state) => {
          if (state === 'closed') nested = connection.close(5000); // an application's cleanup, say
        },
      },
    );
    const socket = await connectFirst(connection, sockets);
    const settled: string[] = [];
    void connection.close(5000).then(() => settled.push('outer'));
    void nested?.then(() => settled.push('nested'));
    expect(socket.sent.filter((frame) => frame.startsWith('DISCONNECT'))).toHaveLength(1);
    socket.receive('RECEIPT\nreceipt-id:disconnect\n\n');
    socket.closedByPeer();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(['outer', 'nested']);
  });

  it('close() while fresh credentials are awaited: it resolves at once, opens no socket and leaves no timer', async () => {
    let asked = 0;
    const { connection, sockets } = fakeTimedConnection({
      connectTimeoutMs: 5000,
      credentials: () => {
        asked++;
        return new Promise(() => {}); // a token endpoint that never answers
      },
    });
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(asked).toBe(1);
    await connection.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(sockets).toEqual([]);
  });
});
