/*
 * The server's subscriptions on the current connection: the request queue's, which start() waits
 * for (confirmed by the broker's RECEIPT, on whichever connection makes it), and the topics' sent
 * before it. RabbitMQ closes the connection at once when it refuses one: the queue exists with
 * other arguments than the SUBSCRIBE declares (precondition_failed), or the user may not configure
 * or read what it needs (access_refused). Over Web-STOMP on 3.10 the ERROR frame that would say so
 * is usually lost: the socket just closes ("STOMP died"), and the server reconnects and is refused
 * again. The RECEIPTs of the SUBSCRIBEs written with the refused one can be lost with it (seen: the
 * queue's refusal left the topics' unconfirmed too), so every SUBSCRIBE still unconfirmed at that
 * close is named, the queue's with its declaration, which is what an operator must compare with it.
 */
import { RpcError } from '@stomp-rpc/client';
import { isFatalStompClose, Waiters } from '@stomp-rpc/client/internal';
import { queueDestination } from '@stomp-rpc/client/protocol';

export class Subscriptions {
  readonly #queue: string;
  /** The queue's SUBSCRIBE destination, `/queue/<name>`. */
  readonly #destination: string;
  /** The declaration headers the queue's SUBSCRIBE carries, as `name:value` pairs. */
  readonly #declared: string;
  readonly #waiters = new Waiters();
  /** The broker confirmed the queue's subscription once: start() has nothing to wait for. */
  #everConfirmed = false;
  /** The queue's subscription is confirmed on the current connection. */
  #consuming = false;
  /** The current connection's URL and its SUBSCRIBEs awaiting their RECEIPTs, in the order they were written. */
  #url = '';
  #unconfirmed: string[] = [];
  /** The refusal the last connection met, for a start() that gives up; none once the queue's is confirmed. */
  #lastRefusal: RpcError | undefined;

  constructor(queue: string, declarationHeaders: Readonly<Record<string, string>>) {
    this.#queue = queue;
    this.#destination = queueDestination(queue);
    this.#declared = Object.entries(declarationHeaders)
      .map(([name, value]) => `${name}:${value}`)
      .join(', ');
  }

  /** A new connection, to `url`, before its SUBSCRIBEs. */
  connected(url: string): void {
    this.#url = url;
    this.#unconfirmed = [];
    this.#consuming = false;
  }

  /** Whether the broker confirmed the queue's subscription on the current connection. */
  get consuming(): boolean {
    return this.#consuming;
  }

  /** A SUBSCRIBE was written on the current connection; `confirmed` (returned) resolves at its RECEIPT. */
  sent(destination: string, confirmed: Promise<void>): Promise<void> {
    const unconfirmed = this.#unconfirmed; // this connection's: a later one has a list of its own
    unconfirmed.push(destination);
    void confirmed.then(() => {
      const index = unconfirmed.indexOf(destination);
      if (index !== -1) unconfirmed.splice(index, 1);
    });
    return confirmed;
  }

  /** The queue's RECEIPT came on the current connection: every start() waiting resolves. */
  queueConfirmed(): void {
    this.#everConfirmed = true;
    this.#consuming = true;
    this.#lastRefusal = undefined;
    this.#waiters.settle();
  }

  /**
   * The connection ended. When the broker closed it after a fatal error before a SUBSCRIBE's
   * RECEIPT: the error to report, naming the subscriptions unconfirmed (and the queue's
   * declaration), with `reason` (how the connection ended) as its cause.
   */
  lost(reason: RpcError): RpcError | undefined {
    const unconfirmed = this.#unconfirmed;
    this.#unconfirmed = [];
    this.#consuming = false;
    this.#lastRefusal =
      unconfirmed.length > 0 && isFatalStompClose(reason) ? this.#refusal(unconfirmed, reason) : undefined;
    return this.#lastRefusal;
  }

  /** Resolves once the queue's subscription is confirmed; rejects with UNAVAILABLE after `timeoutMs`, saying why if it knows. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#everConfirmed) return Promise.resolve();
    return this.#waiters.wait(
      timeoutMs,
      () =>
        this.#lastRefusal ??
        new RpcError('UNAVAILABLE', `the broker did not confirm the subscription to ${this.#queue}`),
    );
  }

  /** Every start() still waiting rejects with `error` (stop()). */
  abandon(error: RpcError): void {
    this.#waiters.settle(error);
  }

  #refusal(unconfirmed: readonly string[], reason: RpcError): RpcError {
    const queue = this.#queue;
    const names = unconfirmed.map((destination) =>
      destination === this.#destination ? `${destination} (declaring it ${this.#declared})` : destination,
    );
    const otherwise = unconfirmed.includes(this.#destination)
      ? `${queue} exists with other arguments (precondition_failed: its durability, type or another argument differs) or `
      : '';
    return new RpcError(
      'UNAVAILABLE',
      `${this.#url} closed the connection as this server subscribed to ${names.join(', ')}: RabbitMQ does ` +
        `so when, for example, ${otherwise}the user may not configure or read one of them (access_refused); ` +
        'its ERROR, if one came, or its log says which',
      { cause: reason },
    );
  }
}
