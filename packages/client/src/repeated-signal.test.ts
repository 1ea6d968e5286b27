import { describe, expect, it } from 'vitest';
import { newSignalCheck, REPEATED_SIGNAL_MS } from './repeated-signal.js';

describe('newSignalCheck', () => {
  it('takes a signal, not the same one again within REPEATED_SIGNAL_MS, then a later or a different one', () => {
    let now = 1000;
    const isNew = newSignalCheck(() => now);
    expect(isNew('SIGINT')).toBe(true);
    now += REPEATED_SIGNAL_MS - 1;
    expect(isNew('SIGINT')).toBe(false); // npm passing on the terminal's Ctrl-C
    expect(isNew('SIGTERM')).toBe(true);
    now += REPEATED_SIGNAL_MS;
    expect(isNew('SIGTERM')).toBe(true); // a second stop, asked for
  });
});
