// The streamed procedure on the page: fib(from..to) through the page's own connection, each item
// a row as it arrives. Stop aborts the call, which tells the server to stop producing; at most
// MAX_SEQUENCE_LENGTH rows, as the service takes no longer range.
import type { FibonacciItem, FibonacciRange, FibonacciService, ServiceClient } from '@stomp-rpc/client';
import { byId, showRunning } from './dom.js';
import { showErrorBox } from './error-box.js';
import { explanationsAfterCheck } from './messages.js';
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

  /** Stops the stream that runs, if any (as the Stop button does). */
  stop(): void {
    this.#abort?.abort();
  }

  /** Streams the range the form asks for; never throws, the page shows how it went. */
  async run(): Promise<void> {
    if (this.#abort) return;
    const value = (id: string) => byId<HTMLInputElement>(id).value;
    let range: Required<FibonacciRange>;
    try {
      // Checked before the table is cleared: a typo must not wipe the last good result.
      range = readRange(value('sequence-from'), value('sequence-to'), value('sequence-pause'));
    } catch (error) {
      this.#show({ state: 'failed', received: 0, expected: 0, elapsedMs: 0 });
      showErrorBox('sequence-error', error, SEQUENCE_EXPLANATIONS);
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    this.#showRunning(true);
    this.#rows.replaceChildren();
    byId('sequence-error').hidden = true;
    const progress: SequenceProgress = { state: 'running', received: 0, expected: itemCount(range), elapsedMs: 0 };
    const startedAt = performance.now();
    try {
      await this.#stream(range, abort.signal, progress);
      progress.state = 'done';
    } catch (error) {
      // Stopped by the page: the client's ABORTED is what Stop asked for, not an error to show.
      progress.state = abort.signal.aborted ? 'stopped' : 'failed';
      if (progress.state === 'failed') showErrorBox('sequence-error', error, explanationsAfterCheck(error));
    } finally {
      progress.elapsedMs = performance.now() - startedAt;
      this.#show(progress);
      this.#abort = undefined;
      this.#showRunning(false);
    }
  }

  /** Appends each item as it comes; throws the call's RpcError. */
  async #stream(range: Required<FibonacciRange>, signal: AbortSignal, progress: SequenceProgress): Promise<void> {
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
    // While it runs, the summary changes with every item: a busy live region is read out once, after.
    this.#summary.setAttribute('aria-busy', String(running));
    showRunning(byId<HTMLButtonElement>('sequence-start'), byId<HTMLButtonElement>('sequence-stop'), running);
  }
}
