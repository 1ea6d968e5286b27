// An error box of the page: `#<boxId>` holding `#<boxId>-code`, `-explanation` and `-detail`.
import { byId } from './dom.js';
import { readableError } from './messages.js';

/** Fills the box with the error's code, what it means (`explanations` first) and who said it. */
export function showErrorBox(boxId: string, error: unknown, explanations?: Readonly<Record<string, string>>): void {
  const readable = readableError(error, explanations);
  byId(`${boxId}-code`).textContent = readable.code;
  byId(`${boxId}-explanation`).textContent = readable.explanation;
  byId(`${boxId}-detail`).textContent =
    `${readable.remote ? 'The server said' : 'The client said'}: ${readable.detail}`;
  byId(boxId).hidden = false;
}
