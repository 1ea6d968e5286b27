import { describe, expect, it } from 'vitest';
import { isTraceparent, newTraceparent } from './trace-context.js';

describe('trace context', () => {
  it('traceparent - new ones are valid, sampled and different each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newTraceparent()));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(isTraceparent(id)).toBe(true);
      expect(id.endsWith('-01')).toBe(true);
    }
  });

  it('traceparent - rejects other versions, wrong lengths, upper case and all-zero ids', () => {
    expect(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(true);
    for (const bad of [
      '',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nx',
    ]) {
      expect(isTraceparent(bad), bad).toBe(false);
    }
  });
});
