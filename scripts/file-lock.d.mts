// Types for file-lock.mjs, which the tests import.

/**
 * Runs `work` while holding the lock file `path`. Waits for another holder up to `timeoutMs`, then
 * throws; a lock whose holder is dead is taken over. `onWait` hears, once, who holds it.
 */
export function withFileLock<T>(
  path: string,
  timeoutMs: number,
  work: () => Promise<T>,
  onWait?: (pid: number) => void,
): Promise<T>;
