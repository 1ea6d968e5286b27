import { describe, expect, it, vi } from 'vitest';
import { ReconnectPolicy, type ReconnectPolicyOptions } from './reconnect-policy.js';

const URLS = ['ws://node-a/ws', 'ws://node-b/ws', 'ws://node-c/ws'];

/** A policy whose random numbers the test sets through `random.value`. */
function setup(options: Partial<ReconnectPolicyOptions> = {}, firstRandom = 0) {
  const random = { value: firstRandom };
  const policy = new ReconnectPolicy(
    { urls: URLS, randomizeUrls: false, reconnectDelayMs: 100, maxReconnectDelayMs: 1000, ...options },
    () => random.value,
  );
  return { policy, random };
}

/** The least and the most delay the policy can give now: random at its two ends. */
function delayBounds(policy: ReconnectPolicy, random: { value: number }): [number, number] {
  random.value = 0;
  const least = policy.delayMs();
  random.value = 1;
  const most = policy.delayMs();
  return [least, most];
}

describe('ReconnectPolicy', () => {
  it('urls - starts from the URL the injected random picks', () => {
    expect(setup({ randomizeUrls: true }, 0).policy.url).toBe(URLS[0]);
    expect(setup({ randomizeUrls: true }, 0.5).policy.url).toBe(URLS[1]);
    expect(setup({ randomizeUrls: true }, 0.99).policy.url).toBe(URLS[2]);
  });

  it('urls - starts from the first URL, drawing nothing, when randomizeUrls is off', () => {
    const random = vi.fn(() => 0.99);
    const policy = new ReconnectPolicy(
      { urls: URLS, randomizeUrls: false, reconnectDelayMs: 100, maxReconnectDelayMs: 1000 },
      random,
    );
    expect(policy.url).toBe(URLS[0]);
    expect(random).not.toHaveBeenCalled();
  });

  it('urls - a failed attempt or a lost connection moves to the next URL, round the list', () => {
    const { policy } = setup({ randomizeUrls: true }, 0.5);
    const seen = [policy.url];
    policy.attemptFailed();
    seen.push(policy.url);
    policy.connectionLost(5000);
    seen.push(policy.url);
    policy.attemptFailed();
    seen.push(policy.url);
    policy.connectionLost(0);
    seen.push(policy.url);
    expect(seen).toEqual([URLS[1], URLS[2], URLS[0], URLS[1], URLS[2]]);
  });

  it('urls - a URL the browser refused is skipped from then on; refused() says when every one is', () => {
    const { policy } = setup();
    expect(policy.refused(URLS[0] as string)).toBe(false);
    policy.attemptFailed(); // the refused attempt
    const seen: string[] = [];
    for (let n = 0; n < 4; n++) {
      seen.push(policy.url);
      policy.attemptFailed();
    }
    expect(seen).toEqual([URLS[1], URLS[2], URLS[1], URLS[2]]);
    expect(policy.refused(URLS[1] as string)).toBe(false);
    expect(policy.refused(URLS[2] as string)).toBe(true);
    expect(URLS).toContain(policy.url); // still a URL to report against
  });

  it('urls - a single URL is used every time', () => {
    const { policy } = setup({ urls: ['ws://only/ws'], randomizeUrls: true }, 0.7);
    policy.attemptFailed();
    policy.connectionLost(0);
    expect(policy.url).toBe('ws://only/ws');
  });

  it('delay - the ceiling doubles per failed attempt up to the cap, with equal jitter in [ceiling/2, ceiling]', () => {
    const { policy, random } = setup({ reconnectDelayMs: 100, maxReconnectDelayMs: 1000 });
    const bounds: Array<[number, number]> = [];
    for (let failures = 0; failures < 7; failures++) {
      bounds.push(delayBounds(policy, random));
      policy.attemptFailed();
    }
    expect(bounds).toEqual([
      [50, 100],
      [100, 200],
      [200, 400],
      [400, 800],
      [500, 1000],
      [500, 1000],
      [500, 1000],
    ]);
  });

  it('delay - a random draw in between gives a delay in between', () => {
    const { policy, random } = setup({ reconnectDelayMs: 100, maxReconnectDelayMs: 1000 });
    policy.attemptFailed(); // ceiling 200
    random.value = 0.25;
    expect(policy.delayMs()).toBe(100 + 0.25 * 100);
  });

  it('delay - stays at the cap after very many failures', () => {
    const { policy, random } = setup({ reconnectDelayMs: 100, maxReconnectDelayMs: 30_000 });
    for (let i = 0; i < 1000; i++) policy.attemptFailed();
    expect(delayBounds(policy, random)).toEqual([15_000, 30_000]);
  });

  // Regression: the doubling stopped after 16 failures, short of a cap over 65,536 first delays.
  it('delay - reaches a cap far above the first delay', () => {
    const policy = new ReconnectPolicy(
      { urls: ['ws://a/ws'], randomizeUrls: false, reconnectDelayMs: 1, maxReconnectDelayMs: 300_000 },
      () => 1,
    );
    for (let i = 0; i < 40; i++) policy.attemptFailed();
    expect(policy.delayMs()).toBe(300_000);
  });

  it('delay - connections lost right after they were made back off like failed attempts', () => {
    const { policy, random } = setup({ reconnectDelayMs: 100, maxReconnectDelayMs: 1000 });
    policy.connectionLost(10);
    policy.connectionLost(999);
    expect(delayBounds(policy, random)).toEqual([200, 400]);
  });

  it('delay - a connection that lasted maxReconnectDelayMs resets the backoff', () => {
    const { policy, random } = setup({ reconnectDelayMs: 100, maxReconnectDelayMs: 1000 });
    for (let i = 0; i < 5; i++) policy.attemptFailed();
    expect(delayBounds(policy, random)).toEqual([500, 1000]);
    policy.connectionLost(1000);
    expect(delayBounds(policy, random)).toEqual([50, 100]);
    policy.attemptFailed();
    expect(delayBounds(policy, random)).toEqual([100, 200]);
  });
});
