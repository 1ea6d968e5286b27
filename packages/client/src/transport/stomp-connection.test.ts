import { afterEach, describe, expect, it, vi } from 'vitest';
import { closedSocket, StompConnection, type StompSocket } from './stomp-connection.js';

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

  it('with randomizeUrls false, starts from the first URL', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    expect(await attemptedUrls({ randomizeUrls: false }, 3)).toEqual(URLS);
  });
});
