// The streamed procedure on the page: fib(from..to) through the page's own connection, each item
// a row as it arrives. Stop aborts the call, which tells the server to stop producing; at most
// MAX_SEQUENCE_LENGTH rows, as the service takes no longer range.
import type { FibonacciItem, FibonacciService, ServiceClient } from '@stomp-rpc/client';
import { byId } from './dom.js';
import { showErrorBox } from './error-box.js';
import {
  itemCells,
  itemCount,
  readRange,
  SEQUENCE_EXPLANATIONS,
  type SequenceProgress,
  sequenceSummary,
  sequenceTimeoutMs,
} from './sequence.js';

export class SequencePanel {
  readonly #service: ServiceClient<FibonacciService>;
  readonly #rows = byId<HTMLTableSectionElement>('sequence-items');
  readonly #scroller = byId('sequence-scroll');
  readonly #summary = byId('sequence-summary');
  /** Set while a stream runs: only one at a time. */
  #abort: AbortController | undefined;

  constructor(service: ServiceClient<FibonacciService>) {
    this.#service = service;
    byId('sequence-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.run();
    });
    byId('sequence-stop').addEventListener('click', () => this.#abort?.abort());
  }

  /** Streams the range the form asks for; never throws, the page shows how it went. */
  async run(): Promise<void> {
    if (this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#showRunning(true);
    this.#rows.replaceChildren();
    byId('sequence-error').hidden = true;
    const progress: SequenceProgress = { state: 'running', received: 0, expected: 0, elapsedMs: 0 };
    const startedAt = performance.now();
    try {
      await this.#stream(abort.signal, progress);
      progress.state = 'done';
    } catch (error) {
      // Stopped by the page: the client's ABORTED is what Stop asked for, not an error to show.
      progress.state = abort.signal.aborted ? 'stopped' : 'failed';
      if (progress.state === 'failed') showErrorBox('sequence-error', error, SEQUENCE_EXPLANATIONS);
    } finally {
      progress.elapsedMs = performance.now() - startedAt;
      this.#show(progress);
      this.#abort = undefined;
      this.#showRunning(false);
    }
  }

  /** Reads the form, then appends each item as it comes; throws the call's RpcError. */
  async #stream(signal: AbortSignal, progress: SequenceProgress): Promise<void> {
    const value = (id: string) => byId<HTMLInputElement>(id).value;
    const range = readRange(value('sequence-from'), value('sequence-to'), value('sequence-pause'));
    progress.expected = itemCount(range);
    this.#show(progress);
    const items = this.#service.stream('fibSequence', range, { signal, timeoutMs: sequenceTimeoutMs(range) });
    for await (const item of items) {
      this.#append(item);
      progress.received++;
      this.#show(progress);
    }
  }

  /** One item's row; the list follows the newest row unless the reader scrolled up. */
  #append(item: FibonacciItem): void {
    const scroller = this.#scroller;
    const following = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 8;
    const row = this.#rows.insertRow();
    row.dataset.n = String(item.n);
    const [n, value, digits] = itemCells(item);
    const header = document.createElement('th');
    header.scope = 'row';
    header.textContent = n;
    row.append(header);
    row.insertCell().textContent = value;
    row.insertCell().textContent = digits;
    if (following) scroller.scrollTop = scroller.scrollHeight;
  }

  #show(progress: SequenceProgress): void {
    this.#summary.dataset.state = progress.state;
    this.#summary.textContent = sequenceSummary(progress);
  }

  /** Stream is off while one runs, Stop only then. */
  #showRunning(running: boolean): void {
    byId<HTMLButtonElement>('sequence-start').disabled = running;
    byId<HTMLButtonElement>('sequence-stop').disabled = !running;
  }
}
