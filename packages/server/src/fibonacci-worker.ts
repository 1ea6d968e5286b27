// Runs in a worker thread: fib(n) in decimal, so that large n never blocks the server's event loop
// (heart-beats and other requests keep flowing).
import { parentPort } from 'node:worker_threads';
import { fibonacci } from './fibonacci.js';

parentPort?.on('message', (job: { id: number; n: number }) => {
  parentPort?.postMessage({ id: job.id, decimal: fibonacci(job.n).toString() });
});
