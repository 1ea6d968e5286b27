import { describe, expect, it } from 'vitest';
import { type PageReturn, watchPageReturn } from './page-lifecycle.js';

/** An EventTarget that counts its listeners, standing in for a document or a window. */
class FakeTarget extends EventTarget {
  listeners = 0;
  visibilityState = 'visible';
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    this.listeners++;
    super.addEventListener(type, listener);
  }
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    this.listeners--;
    super.removeEventListener(type, listener);
  }
}

describe('watchPageReturn', () => {
  it('page lifecycle - reports the page becoming visible, resumed, shown again and back online', () => {
    const document = new FakeTarget();
    const window = new FakeTarget();
    const seen: PageReturn[] = [];
    watchPageReturn((how) => seen.push(how), { document, window });
    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange')); // hidden: not a return
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    document.dispatchEvent(new Event('resume'));
    window.dispatchEvent(new Event('pageshow'));
    window.dispatchEvent(new Event('online'));
    expect(seen).toEqual(['visible', 'resume', 'pageshow', 'online']);
  });

  it('page lifecycle - the returned function removes every listener it added', () => {
    const document = new FakeTarget();
    const window = new FakeTarget();
    const seen: PageReturn[] = [];
    const stop = watchPageReturn((how) => seen.push(how), { document, window });
    expect(document.listeners + window.listeners).toBe(4);
    stop();
    stop();
    expect(document.listeners + window.listeners).toBe(0);
    window.dispatchEvent(new Event('online'));
    expect(seen).toEqual([]);
  });

  it('page lifecycle - in Node (no document, the global object is no event target) it adds nothing', () => {
    expect('document' in globalThis).toBe(false);
    const stop = watchPageReturn(() => {
      throw new Error('not in Node');
    });
    stop();
  });
});
