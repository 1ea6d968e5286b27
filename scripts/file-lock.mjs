// A lock between processes on one machine: a file created only if absent, naming its holder's pid.
// Two commands that start the broker at the same moment (`npm start` in one terminal, `npm test` in
// another) would otherwise both find no broker and launch the same node twice.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

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
    const pid = holder(path);
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
    if (holder(path) === process.pid) rmSync(path, { force: true }); // ours still: not taken over
  }
}

function tryLock(path) {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
  const pid = holder(path);
  // The next try takes a stale lock; its pid is read again first, in case another waiter took over.
  if (pid !== undefined && isStale(path, pid) && holder(path) === pid) rmSync(path, { force: true });
  // No pid yet: being written, unless it stayed empty for seconds (its writer killed between the two).
  if (pid === undefined && ageMs(path) > 5000 && holder(path) === undefined) rmSync(path, { force: true });
  return false;
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
 * a process started after the lock was written. After a reboot or in a fresh container the pid of
 * a holder killed mid-start (Ctrl-C) is soon reused, often by the very same command.
 */
function isStale(path, pid) {
  if (pid === process.pid || !isAlive(pid)) return true;
  const startedAt = processStartMs(pid);
  try {
    // 2 s of slack: boot time is read in whole seconds.
    return startedAt !== undefined && startedAt > statSync(path).mtimeMs + 2000;
  } catch {
    return false; // gone meanwhile: the next try takes it
  }
}

/** When `pid` started, in ms since the epoch, from Linux's /proc; undefined elsewhere. */
function processStartMs(pid) {
  if (!existsSync('/proc/stat')) return undefined;
  try {
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    // Field 22 of /proc/<pid>/stat, after the parenthesised command name: clock ticks (10 ms) since boot.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[19]);
    return Number.isFinite(bootSeconds) && Number.isFinite(ticks) ? bootSeconds * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** The pid in the lock file; undefined while the holder is still writing it, or once it is gone. */
function holder(path) {
  try {
    const pid = Number(readFileSync(path, 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
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
