/*
 * Where and when to connect next: a list of broker URLs (the nodes of a cluster) tried in turn,
 * starting from a random one so that many clients spread over the nodes, and moving on whenever an
 * attempt fails or a connection is lost (the node may be going down); the wait before an attempt
 * is a capped exponential backoff with "equal jitter". Pure: randomness comes in as a function.
 */

export interface ReconnectPolicyOptions {
  urls: readonly string[];
  /** Start from a random URL of the list. */
  randomizeUrls: boolean;
  /** First delay before reconnecting; doubles per failed attempt. */
  reconnectDelayMs: number;
  /** Cap on the delay. */
  maxReconnectDelayMs: number;
}

export class ReconnectPolicy {
  readonly #urls: readonly string[];
  readonly #reconnectDelayMs: number;
  readonly #maxReconnectDelayMs: number;
  readonly #random: () => number;
  #urlIndex = 0;
  #failedAttempts = 0;
  /** URLs the browser refuses to open (a page's verdict that never changes): skipped. */
  readonly #refused = new Set<string>();

  constructor(options: ReconnectPolicyOptions, random: () => number = Math.random) {
    this.#urls = options.urls;
    this.#reconnectDelayMs = options.reconnectDelayMs;
    this.#maxReconnectDelayMs = options.maxReconnectDelayMs;
    this.#random = random;
    if (options.randomizeUrls) this.#urlIndex = Math.floor(random() * this.#urls.length);
  }

  /** The URL to use now. */
  get url(): string {
    return this.#urls[this.#urlIndex % this.#urls.length] as string;
  }

  /** The browser refused to open `url`: skipped from now on. True once it has refused every URL. */
  refused(url: string): boolean {
    this.#refused.add(url);
    return this.exhausted;
  }

  /** Whether the browser has refused every URL: no attempt can succeed while the page lives. */
  get exhausted(): boolean {
    return this.#urls.every((url) => this.#refused.has(url));
  }

  /** On to the next URL the browser has not refused, if one is left. */
  #next(): void {
    for (let step = 0; step < this.#urls.length; step++) {
      this.#urlIndex++;
      if (!this.#refused.has(this.url)) return;
    }
  }

  /** How long to wait before the next attempt. */
  delayMs(): number {
    // 2^31 ms exceeds any cap checkMs allows, so 31 doublings always reach it (and never overflow).
    const exponent = Math.min(this.#failedAttempts, 31);
    const ceilingMs = Math.min(this.#maxReconnectDelayMs, this.#reconnectDelayMs * 2 ** exponent);
    return ceilingMs / 2 + (this.#random() * ceilingMs) / 2;
  }

  /** An attempt failed: back off further and fail over to the next URL. */
  attemptFailed(): void {
    this.#failedAttempts++;
    this.#next();
  }

  /**
   * A live connection ended after `connectedForMs`. Only one that lasted resets the backoff: one the
   * broker kills right after the login (a fatal declaration, a refused subscription) must not be
   * retried in a tight loop. The next attempt goes to the next URL.
   */
  connectionLost(connectedForMs: number): void {
    if (connectedForMs >= this.#maxReconnectDelayMs) this.#failedAttempts = 0;
    else this.#failedAttempts++;
    this.#next();
  }
}
