/*
 * Tells a connection when the page it lives in comes back: the tab is shown again
 * (`visibilitychange` to visible), a frozen page is resumed (`resume`, Page Lifecycle API), a page
 * is shown again from the back/forward cache (`pageshow`), or the network returns (`online`).
 * While the page was away its timers may have been throttled to once a minute or stopped, so the
 * connection checks itself at once instead of waiting for them.
 *
 * Isomorphic: where there is no `document` (Node, a worker) those listeners are not added, and
 * where the global object is no event target (Node) neither is `online`.
 */

/** What brought the page back. */
export type PageReturn = 'visible' | 'resume' | 'pageshow' | 'online';

interface Listenable {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface PageDocument extends Listenable {
  readonly visibilityState?: string;
}

export interface PageScope {
  /** Receives `visibilitychange` and `resume`. @default globalThis.document */
  document?: PageDocument | undefined;
  /** Receives `pageshow` and `online`. @default globalThis (the window, or a worker's self) */
  window?: Listenable | undefined;
}

/** Calls `onReturn` whenever the page comes back; returns the function that stops listening. */
export function watchPageReturn(onReturn: (how: PageReturn) => void, scope: PageScope = globalScope()): () => void {
  const added: [Listenable, string, () => void][] = [];
  const listen = (target: Listenable | undefined, type: string, listener: () => void) => {
    if (!target) return;
    target.addEventListener(type, listener);
    added.push([target, type, listener]);
  };
  const { document, window } = scope;
  listen(document, 'visibilitychange', () => {
    if (document?.visibilityState === 'visible') onReturn('visible');
  });
  listen(document, 'resume', () => onReturn('resume'));
  listen(window, 'pageshow', () => onReturn('pageshow'));
  listen(window, 'online', () => onReturn('online'));
  return () => {
    for (const [target, type, listener] of added.splice(0)) target.removeEventListener(type, listener);
  };
}

function globalScope(): PageScope {
  const global = globalThis as { document?: unknown };
  return {
    document: isListenable(global.document) ? global.document : undefined,
    window: isListenable(globalThis) ? globalThis : undefined,
  };
}

function isListenable(value: unknown): value is Listenable {
  const candidate = value as Partial<Listenable> | null | undefined;
  return typeof candidate?.addEventListener === 'function' && typeof candidate.removeEventListener === 'function';
}
