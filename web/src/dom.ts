// The page's DOM helpers: its elements by id, failing loudly when the HTML lacks one, and the
// Stop buttons' focus rule.

export function byId<T extends HTMLElement | SVGSVGElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

/**
 * Turns a Stop button on while its run goes, off after. A disabled button loses keyboard focus to
 * the page's body, so a Stop button that had it hands it to `start`, which is on again by then.
 */
export function toggleStop(stop: HTMLButtonElement, running: boolean, start: HTMLButtonElement): void {
  const hadFocus = document.activeElement === stop;
  stop.disabled = !running;
  if (!running && hadFocus) start.focus();
}
