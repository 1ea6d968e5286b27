/**
 * For the commands: a signal again this soon after the same one is the same stop delivered twice,
 * not a second one. Under `npm run` a terminal's Ctrl-C reaches the program, and npm passes its own on.
 */
export const REPEATED_SIGNAL_MS = 250;

/** Returns a check that is false for a signal that repeats the last one taken within REPEATED_SIGNAL_MS. */
export function newSignalCheck(now: () => number = Date.now): (signal: string) => boolean {
  let last: { signal: string; at: number } | undefined;
  return (signal) => {
    const at = now();
    if (last?.signal === signal && at - last.at < REPEATED_SIGNAL_MS) return false;
    last = { signal, at };
    return true;
  };
}
