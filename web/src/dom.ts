// The page's DOM helpers: its elements by id, failing loudly when the HTML lacks one, and the
// Start and Stop buttons' focus rule.

export function byId<T extends HTMLElement | SVGSVGElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

/**
 * Turns Start off and Stop on while a run goes, and back after. A disabled button loses keyboard
 * focus to the page's body, so the one turned off hands it to the other: a keyboard user who
 * started a run can stop it at once, and start the next one after.
 */
export function showRunning(start: HTMLButtonElement, stop: HTMLButtonElement, running: boolean): void {
  const [turnedOff, turnedOn] = running ? [start, stop] : [stop, start];
  const hadFocus = document.activeElement === turnedOff;
  turnedOn.disabled = false;
  turnedOff.disabled = true;
  if (hadFocus) turnedOn.focus();
}
