// A lock between processes on one machine: a file created only if absent, naming its holder (its pid
// and, on Linux, when it started).
// Two commands that start the broker at the same moment (`npm start` in one terminal, `npm test` in
// another) would otherwise both find no broker and launch the same node twice.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

const POLL_MS = 100;

/**
 * Runs `work` while holding the lock file `path`. Waits for another holder up to `timeoutMs`, then
 * throws; a lock whose holder is dead (killed mid-start) is taken over. `onWait` hears, once, who
 * holds it.
 */
export async function withFileLock(path, timeoutMs, work, onWait = () => {}) {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  while (!tryLock(path)) {
    const pid = holder(path)?.pid;
    if (Date.now() >= deadline) {
      throw new Error(
        `${path} is still held by pid ${pid ?? '?'} after ${timeoutMs} ms; remove it if that process is not ours`,
      );
    }
    if (!told && pid !== undefined) {
      told = true;
      onWait(pid);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    if (holder(path)?.pid === process.pid) rmSync(path, { force: true }); // ours still: not taken over
  }
}

function tryLock(path) {
  try {
    writeFileSync(path, `${process.pid} ${startTicks(process.pid) ?? ''}`.trim(), { flag: 'wx' });
    return true;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
  const found = holder(path);
  // The next try takes a stale lock; it is read again first, in case another waiter took over.
  if (found !== undefined && isStale(path, found) && sameHolder(holder(path), found)) rmSync(path, { force: true });
  // No pid yet: being written, unless it stayed empty for seconds (its writer killed between the two).
  if (found === undefined && ageMs(path) > 5000 && holder(path) === undefined) rmSync(path, { force: true });
  return false;
}

function sameHolder(a, b) {
  return a !== undefined && a.pid === b.pid && a.ticks === b.ticks;
}

/** How long ago the lock file was written; 0 when it is gone. */
function ageMs(path) {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Whether the process that wrote the lock is gone: its pid names no process, or names this one, or
 * another process than the writer (it started at another time). After a reboot or in a fresh
 * container the pid of a holder killed mid-start (Ctrl-C) is soon reused, often by the very same
 * command. Start times are clock ticks since boot, which a change of the wall clock does not move.
 */
function isStale(path, { pid, ticks }) {
  if (pid === process.pid || !isAlive(pid)) return true;
  if (ticks === undefined) return startedAfter(path, pid); // a lock written by an older checkout
  const now = startTicks(pid);
  return now !== undefined && now !== ticks;
}

/** Whether `pid` started after the lock file was written, by the wall clock (2 s of slack: boot time is in whole seconds). */
function startedAfter(path, pid) {
  try {
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const ticks = Number(startTicks(pid)); // 100 per second on Linux
    return bootSeconds * 1000 + ticks * 10 > statSync(path).mtimeMs + 2000;
  } catch {
    return false; // no /proc, or gone meanwhile: the next try sees
  }
}

/** When `pid` started, in clock ticks since boot, from Linux's /proc; undefined elsewhere. */
function startTicks(pid) {
  try {
    // Field 22 of /proc/<pid>/stat, after the parenthesised command name (which may hold ") ").
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19];
    return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** Who holds the lock file; undefined while the holder is still writing it, or once it is gone. */
function holder(path) {
  try {
    const [pidText, ticks] = readFileSync(path, 'utf8').split(' ');
    const pid = Number(pidText);
    return Number.isInteger(pid) && pid > 0 ? { pid, ticks: ticks || undefined } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM'; // alive, another user's
  }
}
