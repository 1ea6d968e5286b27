/*
 * Credentials that expire (an OAuth 2.0 token as the STOMP passcode): STOMP cannot hand a live
 * connection a new token, so each (re)connect asks for a fresh one, and a refusal is final only
 * once a fresh one was refused too (the first may just have expired on the way).
 */

import { RpcError } from '../errors.js';
import { checkFunction } from '../options.js';

/** What a client logs in with; for RabbitMQ's OAuth 2.0 backend the passcode is the token. */
export interface Credentials {
  login: string;
  passcode: string;
}

export type CredentialsSource = () => Credentials | Promise<Credentials>;

/**
 * Calls `source`, rejecting when it throws, answers junk, or has not answered within `timeoutMs`,
 * or at once when `signal` aborts (the connection was closed: its timer must not keep Node alive).
 */
export async function freshCredentials(
  source: CredentialsSource,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Credentials> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stop: (() => void) | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    stop = () => reject(new Error('the connection was closed'));
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop);
  });
  try {
    const credentials = await Promise.race([source(), late]);
    if (typeof credentials?.login !== 'string' || typeof credentials.passcode !== 'string') {
      throw new Error('it must return { login: string, passcode: string }');
    }
    return credentials;
  } finally {
    clearTimeout(timer);
    if (stop) signal?.removeEventListener('abort', stop);
  }
}

/**
 * How long the vhost may go on refusing (since the last connection) before its refusal is final.
 * RabbitMQ answers a vhost at its connection limit as it answers a user without access to it
 * ("Virtual host '…' access denied"): a limit frees up, so the attempts go on for a while first; a
 * missing permission does not, and fails within this.
 */
export const VHOST_DENIED_FINAL_MS = 10_000;

/**
 * How long the attempts share one call of the source still under way, and how long an answer that
 * came after its attempt gave up may serve the next one.
 */
export const LATE_ANSWER_KEEP_MS = 30_000;

/** One call of the source, as attempts share it (Login.#ask). */
interface Asking {
  readonly answer: Promise<Credentials>;
  readonly askedAt: number;
  /** An attempt got it: the next asks anew, for a fresh one. */
  used: boolean;
  cameAt?: number;
  failed?: boolean;
}

/** Where a connection's credentials come from, and when a refused login is final. */
export class Login {
  readonly #source: CredentialsSource | undefined;
  readonly #closed = new AbortController();
  #refusedInARow = 0;
  /** When the vhost first refused since the last connection; undefined while it has not. */
  #vhostDeniedSince: number | undefined;
  /** Why the last refresh failed, until one succeeds. */
  #failure: string | undefined;
  /** Whether the source has ever answered: before that, the only credentials are the defaults (guest). */
  #everAnswered = false;
  /** The source's latest answer (under way, or come and not yet used), and how many attempts waited for it. */
  #asking: Asking | undefined;

  constructor(source: CredentialsSource | undefined) {
    this.#source = checkFunction(source, 'credentials');
  }

  /**
   * Puts fresh credentials in the CONNECT headers for the next attempt. Without a source, nothing
   * to do; when the source fails, the attempt goes with the last ones, and explain() says so.
   */
  async refresh(connectHeaders: Record<string, string>, timeoutMs: number): Promise<void> {
    if (this.#source === undefined) return;
    try {
      const asking = this.#ask();
      const { login, passcode } = await freshCredentials(() => asking.answer, timeoutMs, this.#closed.signal);
      asking.used = true;
      connectHeaders.login = login;
      connectHeaders.passcode = passcode;
      this.#failure = undefined;
      this.#everAnswered = true;
    } catch (error) {
      this.#failure = `credentials() failed: ${RpcError.from(error).message}`;
    }
  }

  /**
   * The source's answer for an attempt. One its attempt gave up on (a slow token endpoint) serves the
   * next attempts, while under way or once come (each for LATE_ANSWER_KEEP_MS), rather than being
   * asked for again: two refreshes at once with one refresh token can look like its theft to a
   * provider that rotates them, and an endpoint slower than the attempt would never be used. Past
   * that, an attempt asks anew: an answer that never comes must not hold every attempt after it.
   */
  #ask(): Asking {
    const last = this.#asking;
    const since = last?.cameAt ?? last?.askedAt ?? 0;
    if (last !== undefined && !last.used && !last.failed && Date.now() - since <= LATE_ANSWER_KEEP_MS) return last;
    const answer = Promise.resolve().then(this.#source as CredentialsSource);
    const asking: Asking = { answer, askedAt: Date.now(), used: false };
    asking.answer.then(
      () => {
        asking.cameAt = Date.now();
      },
      () => {
        asking.failed = true;
      },
    );
    this.#asking = asking;
    return asking;
  }

  /**
   * Why the next attempt must not go: the source has failed every time so far, and logging in with
   * the default guest instead could succeed on a broker that lets guest in, with guest's rights.
   */
  get missing(): RpcError | undefined {
    if (this.#source === undefined || this.#everAnswered) return undefined;
    return new RpcError('UNAVAILABLE', `no credentials to log in with yet: ${this.#failure ?? 'credentials() failed'}`);
  }

  /**
   * Why an attempt failed, adding that its credentials were not fresh when the last refresh
   * failed. The code stays the attempt's own: a token endpoint that fails is not a refused login.
   */
  explain(reason: RpcError): RpcError {
    if (this.#failure === undefined || !this.#everAnswered) return reason;
    const message = `${reason.message} (${this.#failure}; the attempt went with the last credentials)`;
    return new RpcError(reason.code, message, { cause: reason });
  }

  /**
   * A login was refused; true when that is final (waiting calls fail with UNAUTHENTICATED): always
   * for fixed credentials, and for a source once a fresh login was refused too. An attempt that
   * went with old credentials because the source failed does not count: those may just have expired.
   * A refusal of the vhost (`vhost`: the login itself was accepted) is final once the vhost has
   * refused for VHOST_DENIED_FINAL_MS.
   */
  refused(vhost = false, now = Date.now()): boolean {
    if (vhost) {
      this.#refusedInARow = 0;
      this.#vhostDeniedSince ??= now;
      return now - this.#vhostDeniedSince >= VHOST_DENIED_FINAL_MS;
    }
    if (this.#source === undefined) return true;
    if (this.#failure !== undefined) return false;
    this.#refusedInARow++;
    return this.#refusedInARow >= 2;
  }

  connected(): void {
    this.#refusedInARow = 0;
    this.#vhostDeniedSince = undefined;
  }

  /** The connection is closed: a refresh under way ends now, its timer cleared. */
  close(): void {
    this.#closed.abort();
  }
}
