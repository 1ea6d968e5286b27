// A lock between processes on one machine: a file created only if absent, naming its holder's pid.
// Two commands that start the broker at the same moment (`npm start` in one terminal, `npm test` in
// another) would otherwise both find no broker and launch the same node twice.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

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
    rmSync(path, { force: true });
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
  if (pid !== undefined && !isAlive(pid)) rmSync(path, { force: true }); // the next try takes it
  return false;
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
