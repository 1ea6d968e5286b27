// The page's one DOM helper: its elements by id, failing loudly when the HTML lacks one.

export function byId<T extends HTMLElement | SVGSVGElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}
