/*
 * Timestamps at a process's broker socket, for bench/latency-split.mjs: when data last arrived
 * from the broker and when the next write to it began. Loaded with `node --import` into a server,
 * or imported by the split itself for its clients. It wraps `net.Socket`'s `emit`, `_write` and
 * `_writev`, so it measures any client or server alike, ours or hand-written; it is a measuring
 * tool only, never part of the packages.
 *
 * In a server, SIGUSR2 prints the median time from data in to the reply's write (µs) as one line
 * `latency-split server <µs> <samples>` on stderr, and starts a new window.
 */
import net from 'node:net';
import { median } from './lib.mjs';

/** Microseconds on a monotonic clock. */
export const now = () => Number(process.hrtime.bigint()) / 1000;
/** The broker's Web-STOMP port: LATENCY_SPLIT_PORT in a server, watchPort() in the split itself. */
let brokerPort = Number(process.env.LATENCY_SPLIT_PORT ?? 15674);
const isBroker = (socket) => socket.remotePort === brokerPort;

export function watchPort(port) {
  brokerPort = port;
}

/**
 * Microseconds: when data last came from the broker (`lastDataAt`; `dataAt` until the next write),
 * and when the first write since `writeAt` was zeroed began.
 */
export const marks = { dataAt: 0, lastDataAt: 0, writeAt: 0 };
const serverGaps = [];

const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, ...rest) {
  if (event === 'data' && isBroker(this)) {
    marks.dataAt = now();
    marks.lastDataAt = marks.dataAt;
  }
  return emit.call(this, event, ...rest);
};
for (const method of ['_write', '_writev']) {
  const write = net.Socket.prototype[method];
  net.Socket.prototype[method] = function (...rest) {
    if (isBroker(this)) {
      const at = now();
      if (marks.writeAt === 0) marks.writeAt = at;
      if (marks.dataAt !== 0) serverGaps.push(at - marks.dataAt);
      marks.dataAt = 0;
    }
    return write.apply(this, rest);
  };
}

process.on('SIGUSR2', () => {
  process.stderr.write(`latency-split server ${median(serverGaps).toFixed(1)} ${serverGaps.length}\n`);
  serverGaps.length = 0;
});
