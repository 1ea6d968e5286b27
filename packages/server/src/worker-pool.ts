/*
 * A small pool of worker threads computing fib(n) in decimal.
 *
 * Jobs wait in a FIFO queue for an idle worker. The queue has no bound of its own: the server holds
 * at most `prefetch` requests, and `fibonacciHandler` stops a request's job when the request ends
 * (its deadline, a cancel), so at most that many jobs exist. A handler of your own that calls
 * compute() must pass the request's deadline and signal to keep that true. A worker that dies (crash,
 * out of memory) fails the job it held with INTERNAL and is replaced; the process goes on. A job
 * whose deadline passes while it waits is dropped with DEADLINE_EXCEEDED instead of computed for
 * nobody. Workers that die again and again without finishing a job (a missing or broken worker
 * script) are given up on: from then on the pool computes on the event loop, slower for other
 * requests but right, rather than failing every large n while the server looks healthy; the
 * workers still alive end (a busy one once its job is done).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RpcError } from '@stomp-rpc/client';
import { Deadline } from './deadline.js';
import { fibonacci } from './fibonacci.js';

export interface WorkerPoolOptions {
  /** Worker threads. @default the cores less one, at least 1 */
  size?: number | undefined;
  /**
   * The worker script. Defaults to the built `fibonacci-worker.js`: `../dist/` is the build both
   * from `src/` (tests) and from `dist/`, because the two folders are siblings.
   */
  workerUrl?: URL | undefined;
  /** The pool gave up on its workers (why: the last death) and computes on the event loop from now on. */
  onGiveUp?: ((cause: Error) => void) | undefined;
  /** A worker thread died (why), failing the job it held; it is replaced unless the pool gives up. */
  onWorkerDied?: ((cause: Error) => void) | undefined;
}

const MAX_DEATHS_IN_A_ROW = 5;

interface Job {
  readonly id: number;
  readonly n: number;
  readonly deadline: Deadline;
  readonly resolve: (decimal: string) => void;
  readonly reject: (error: RpcError) => void;
}

interface PoolWorker {
  readonly thread: Worker;
  job: Job | undefined;
  /** Terminated on purpose (its job was cancelled, or the pool gave up): its exit is not a death. */
  stopped: boolean;
}

export class WorkerPool {
  readonly #workerUrl: URL;
  readonly #workers = new Set<PoolWorker>();
  readonly #idle: PoolWorker[] = [];
  readonly #waiting: Job[] = [];
  #nextId = 0;
  #closed = false;
  #replaced = 0;
  #cancelled = 0;
  /** Deaths since a worker last finished a job; past MAX_DEATHS_IN_A_ROW the pool gives up. */
  #deathsInARow = 0;
  #gaveUp = false;
  /** Given up: the next waiting job is computed on the event loop at the next turn. */
  #inlineTurn: ReturnType<typeof setImmediate> | undefined;
  readonly #onGiveUp: ((cause: Error) => void) | undefined;
  readonly #onWorkerDied: ((cause: Error) => void) | undefined;

  constructor(options: WorkerPoolOptions = {}) {
    const size = options.size ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isSafeInteger(size) || size < 1) throw new RpcError('INVALID_ARGUMENT', 'size must be at least 1');
    this.#workerUrl = options.workerUrl ?? new URL('../dist/fibonacci-worker.js', import.meta.url);
    this.#onGiveUp = options.onGiveUp;
    this.#onWorkerDied = options.onWorkerDied;
    for (let i = 0; i < size; i++) this.#spawn();
  }

  /** Worker threads now (one terminated for a cancel or after a give-up counts until it has exited). */
  get size(): number {
    return this.#workers.size;
  }

  /** Worker threads not free for a job: computing one, or being terminated (after a cancel or a give-up). */
  get busy(): number {
    return this.#workers.size - this.#idle.length;
  }

  /** Jobs waiting for a free worker (or, given up, for their turn on the event loop). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Workers replaced after dying. */
  get replaced(): number {
    return this.#replaced;
  }

  /** Whether the pool gave up on its workers, and computes on the event loop. */
  get gaveUp(): boolean {
    return this.#gaveUp;
  }

  /** Jobs stopped by their signal: dropped while waiting, or their worker terminated. */
  get cancelled(): number {
    return this.#cancelled;
  }

  /**
   * fib(n) in decimal, computed off the event loop. `deadline` is a Date.now() time. When `signal`
   * aborts, the job is dropped, or its worker terminated (a BigInt computation cannot be
   * interrupted otherwise) and replaced; it rejects with the signal's reason.
   */
  compute(n: number, deadline = Number.POSITIVE_INFINITY, signal?: AbortSignal): Promise<string> {
    if (this.#closed) return Promise.reject(new RpcError('INTERNAL', 'the worker pool is closed'));
    if (signal?.aborted) return Promise.reject(stopReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = () => this.#cancel(job, stopReason(signal as AbortSignal));
      const job: Job = {
        id: this.#nextId++,
        n,
        deadline: new Deadline(deadline),
        resolve: (decimal) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(decimal);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(job);
      this.#dispatch();
    });
  }

  /** Ends every worker; jobs not finished reject with INTERNAL. */
  async close(): Promise<void> {
    this.#closed = true;
    clearImmediate(this.#inlineTurn);
    this.#inlineTurn = undefined;
    for (const job of this.#waiting.splice(0)) job.reject(new RpcError('INTERNAL', 'the worker pool closed'));
    await Promise.all([...this.#workers].map((worker) => worker.thread.terminate()));
  }

  #spawn(): void {
    const worker: PoolWorker = { thread: new Worker(this.#workerUrl), job: undefined, stopped: false };
    this.#workers.add(worker);
    worker.thread.on('message', (result: { id: number; decimal: string }) => {
      if (worker.stopped) return; // being terminated: it takes no more jobs
      const { job } = worker;
      worker.job = undefined;
      this.#deathsInARow = 0;
      if (job?.id === result.id) job.resolve(result.decimal);
      if (this.#gaveUp) {
        this.#end(worker); // no job will come to it
        return;
      }
      this.#idle.push(worker);
      this.#dispatch();
    });
    worker.thread.on('error', (error) => this.#retire(worker, error));
    worker.thread.on('exit', (code) => this.#retire(worker, new Error(`worker exited with code ${code}`)));
    this.#idle.push(worker);
  }

  #retire(worker: PoolWorker, cause: Error): void {
    if (!this.#workers.delete(worker)) return; // 'error' and 'exit' both come for one death
    const idleAt = this.#idle.indexOf(worker);
    if (idleAt >= 0) this.#idle.splice(idleAt, 1);
    worker.job?.reject(new RpcError('INTERNAL', 'the computation failed: its worker thread died', { cause }));
    worker.job = undefined;
    if (this.#closed || this.#gaveUp) return; // given up: the other workers' deaths change nothing
    if (worker.stopped) {
      this.#spawn();
      this.#dispatch();
      return;
    }
    this.#onWorkerDied?.(cause);
    if (++this.#deathsInARow > MAX_DEATHS_IN_A_ROW) {
      // A worker that cannot even start (missing build, broken script) would be replaced forever.
      this.#gaveUp = true;
      this.#onGiveUp?.(cause);
      for (const survivor of this.#idle.splice(0)) this.#end(survivor); // a busy one, once its job is done
      this.#dispatch();
      return;
    }
    this.#replaced++;
    this.#spawn();
    this.#dispatch();
  }

  /**
   * Given up on the workers: the waiting jobs are computed on the event loop, one per turn, so that
   * heart-beats, cancels and other requests get through between two large n; a job cancelled or
   * past its deadline meanwhile is not computed.
   */
  #computeNextInline(): void {
    if (this.#inlineTurn !== undefined || this.#waiting.length === 0) return;
    this.#inlineTurn = setImmediate(() => {
      this.#inlineTurn = undefined;
      const job = this.#waiting.shift();
      if (job === undefined || this.#closed) return;
      if (job.deadline.passed()) job.reject(lateError(job.n));
      else computeInline(job);
      this.#computeNextInline();
    });
  }

  /** Terminates a worker on purpose: its exit is not a death, and it takes no more jobs. */
  #end(worker: PoolWorker): void {
    worker.stopped = true;
    void worker.thread.terminate();
  }

  /** Drops a waiting job, or terminates the worker computing it. */
  #cancel(job: Job, reason: RpcError): void {
    this.#cancelled++;
    const waitingAt = this.#waiting.indexOf(job);
    if (waitingAt >= 0) this.#waiting.splice(waitingAt, 1);
    for (const worker of this.#workers) {
      if (worker.job !== job) continue;
      worker.job = undefined;
      this.#end(worker);
    }
    job.reject(reason);
  }

  #dispatch(): void {
    if (this.#gaveUp) {
      this.#computeNextInline();
      return;
    }
    while (this.#idle.length > 0 && this.#waiting.length > 0) {
      const job = this.#waiting.shift() as Job;
      if (job.deadline.passed()) {
        job.reject(lateError(job.n));
        continue;
      }
      const worker = this.#idle.pop() as PoolWorker;
      worker.job = job;
      worker.thread.postMessage({ id: job.id, n: job.n });
    }
  }
}

/**
 * Settles a job on the event loop. A computation that throws (a BigInt over V8's size limit, say)
 * fails its job with INTERNAL: a throw here would leave it unsettled, the queue stalled and the
 * error uncaught.
 */
function computeInline(job: Job): void {
  try {
    job.resolve(fibonacci(job.n).toString());
  } catch (cause) {
    job.reject(new RpcError('INTERNAL', `the computation of fib(${job.n}) failed`, { cause }));
  }
}

function lateError(n: number): RpcError {
  return new RpcError('DEADLINE_EXCEEDED', `the request's deadline passed before fib(${n}) started`);
}

/** Why a job stopped: the signal's RpcError, or ABORTED. */
function stopReason(signal: AbortSignal): RpcError {
  return signal.reason instanceof RpcError ? signal.reason : new RpcError('ABORTED', 'the computation was cancelled');
}
