// The live servers panel: every server that announces itself on the presence topic for our queue,
// with its in-flight count, request rate (from the difference between two announcements), average
// processing time, errors, and how many of the current burst's calls it answered; and below it,
// each server's counters by procedure.
import type { ServerInfo } from '@stomp-rpc/client';
import { formatMs } from './format.js';
import { PROCEDURE_COLUMNS, procedureRows, totalErrors } from './procedure-stats.js';

/** What the panel remembers of a server's last announcement, to turn its counters into a rate. */
export interface Sample {
  requests: number;
  announcedAt: number;
  perSecond: number;
  /** The server's start: a new one under the same id counts from 0 again. */
  startedAt: string;
}

/**
 * Announcements closer together than this make no rate. Answers to the page's pings are
 * announcements too, and one can come a few milliseconds after a beat: 10 requests over 5 ms would
 * read as 2,000 a second.
 */
const MIN_RATE_MS = 1000;

const COLUMNS = ['server', 'host · pid', 'in flight', 'req/s', 'avg time', 'errors', 'this burst', 'seen'] as const;

/**
 * The sample after `server`'s latest announcement. The panel redraws more often than servers
 * announce, so the rate is only recomputed when an announcement is new and at least MIN_RATE_MS
 * after the sample's; until then the previous sample (and its rate) stands. By `announcedAt`, not
 * `lastSeen`, which every reply from the server moves with no new counts. A server's first sample
 * has no rate yet. Counts older than the sample's (an answer to a ping, which comes through
 * another queue than the beats, may arrive after a later beat) are passed over.
 */
export function nextSample(previous: Sample | undefined, server: ServerInfo): Sample {
  const { requests } = server.stats;
  const { announcedAt, startedAt } = server;
  if (previous === undefined || startedAt !== previous.startedAt)
    return { requests, announcedAt, perSecond: 0, startedAt };
  const elapsedMs = announcedAt - previous.announcedAt;
  if (elapsedMs < MIN_RATE_MS || requests < previous.requests) return previous;
  return { requests, announcedAt, perSecond: ((requests - previous.requests) * 1000) / elapsedMs, startedAt };
}

/** The texts of one server's row, in the order of COLUMNS. */
export function serverCells(
  server: ServerInfo,
  seen: { perSecond: number; burstCalls: number; now: number },
): string[] {
  return [
    server.id,
    `${server.host} · ${server.pid}`,
    `${server.inFlight} / ${server.prefetch}`,
    seen.perSecond.toFixed(1),
    // An average over no answered calls would read as 0 ms, which looks like a fast server.
    server.stats.succeeded > 0 ? formatMs(server.stats.processingMs.average) : '–',
    String(totalErrors(server.stats.errors)),
    String(seen.burstCalls),
    // Its last announcement, not lastSeen, which a reconnect restarts without hearing from it.
    `${Math.max(0, Math.round((seen.now - server.announcedAt) / 1000))} s ago`,
  ];
}

/** What the servers table is called: how many, and whether they are live or as last heard. */
export function serversCaption(count: number, connected: boolean): string {
  const noun = count === 1 ? 'server' : 'servers';
  return connected ? `${count} live ${noun}` : `${count} ${noun} as of the last connection`;
}

const NO_SERVERS = 'No server has announced itself on this queue. Start one with: npm run server';
const NOT_CONNECTED = 'Not connected to the broker: the servers show once the page is connected.';

/** Servers count a procedure from its first answer on; servers from before services, never. */
const NO_PROCEDURES = 'No counts by procedure yet: a server reports each procedure it has answered.';

export class ServersPanel {
  readonly #container: HTMLElement;
  readonly #proceduresContainer: HTMLElement;
  readonly #samples = new Map<string, Sample>();
  /** Calls of the current burst each server answered, by server id. */
  burstShare = new Map<string, number>();

  readonly #announcer: HTMLElement | undefined;

  /**
   * The servers table goes in `container`, the table by procedure in `proceduresContainer`.
   * `announcer`, a live region, hears only how many servers are live, when that changes: the
   * tables are redrawn every second ("seen 3 s ago"), too often to be read out, in place.
   */
  constructor(container: HTMLElement, proceduresContainer: HTMLElement, announcer?: HTMLElement) {
    this.#container = container;
    this.#proceduresContainer = proceduresContainer;
    this.#announcer = announcer;
  }

  /**
   * Redraws the panel. `connected` false: the list is the one of the last connection, which a
   * client does not age while it cannot hear the servers; the panel says so rather than "live".
   */
  render(servers: readonly ServerInfo[], now = Date.now(), connected = true): void {
    this.#updateSamples(servers);
    this.#renderProcedures(servers, connected);
    const count = serversCaption(servers.length, connected);
    if (this.#announcer && this.#announcer.textContent !== count) this.#announcer.textContent = count;
    if (servers.length === 0) {
      this.#container.replaceChildren(
        connected ? note('no-servers', NO_SERVERS) : note('not-connected', NOT_CONNECTED),
      );
      return;
    }
    const table = statsTable(count, COLUMNS);
    table.classList.toggle('stale', !connected);
    const body = table.createTBody();
    for (const server of [...servers].sort((a, b) => a.id.localeCompare(b.id))) {
      const perSecond = this.#samples.get(server.id)?.perSecond ?? 0;
      const burstCalls = this.burstShare.get(server.id) ?? 0;
      appendRow(body, { server: server.id }, serverCells(server, { perSecond, burstCalls, now }));
    }
    showTable(this.#container, table);
  }

  /** Each live server's counters by procedure (as last heard while not `connected`); nothing while no server is live. */
  #renderProcedures(servers: readonly ServerInfo[], connected: boolean): void {
    const rows = procedureRows(servers);
    if (rows.length === 0) {
      this.#proceduresContainer.replaceChildren(
        ...(servers.length === 0 ? [] : [note('no-procedures', NO_PROCEDURES)]),
      );
      return;
    }
    const table = statsTable('By procedure', PROCEDURE_COLUMNS);
    table.classList.add('procedures');
    table.classList.toggle('stale', !connected);
    const body = table.createTBody();
    for (const row of rows) appendRow(body, { server: row.server, procedure: row.procedure }, row.cells);
    showTable(this.#proceduresContainer, table);
  }

  /** Takes in the latest announcements and forgets servers that are no longer live. */
  #updateSamples(servers: readonly ServerInfo[]): void {
    for (const server of servers) this.#samples.set(server.id, nextSample(this.#samples.get(server.id), server));
    const live = new Set(servers.map((server) => server.id));
    for (const id of this.#samples.keys()) if (!live.has(id)) this.#samples.delete(id);
  }
}

function note(id: string, text: string): HTMLParagraphElement {
  const paragraph = document.createElement('p');
  paragraph.className = 'muted';
  paragraph.id = id;
  paragraph.textContent = text;
  return paragraph;
}

/**
 * Shows `table` in `container`. A table already there with the same columns keeps its elements,
 * and only the texts that changed are written: the tables are redrawn every second, and a new one
 * each time would lose a screen reader's place in it and any text selected. Narrow screens scroll
 * the table, not the page, in a wrapper that is kept, so a reader who scrolled sideways stays put.
 */
function showTable(container: HTMLElement, table: HTMLTableElement): void {
  let wrapper = container.firstElementChild;
  if (!(wrapper instanceof HTMLDivElement) || wrapper.className !== 'table-scroll') {
    wrapper = document.createElement('div');
    wrapper.className = 'table-scroll';
    container.replaceChildren(wrapper);
  }
  const shown = wrapper.firstElementChild;
  const [shownRows, rows] = [shown instanceof HTMLTableElement ? shown.tBodies[0] : undefined, table.tBodies[0]];
  if (!(shown instanceof HTMLTableElement) || shown.tHead?.textContent !== table.tHead?.textContent) {
    wrapper.replaceChildren(table);
  } else if (shownRows && rows) {
    if (shown.caption && table.caption) setText(shown.caption, table.caption.textContent);
    shown.className = table.className;
    updateRows(shownRows, rows);
  }
}

/** Makes `shown`'s rows those of `next`, keeping each row that has the same data attributes. */
function updateRows(shown: HTMLTableSectionElement, next: HTMLTableSectionElement): void {
  const key = (row: HTMLTableRowElement) => JSON.stringify({ ...row.dataset });
  const leftover = new Map(Array.from(shown.rows, (row) => [key(row), row]));
  for (const [index, row] of Array.from(next.rows).entries()) {
    let kept = leftover.get(key(row));
    leftover.delete(key(row));
    if (kept?.cells.length === row.cells.length) {
      for (const [column, cell] of Array.from(row.cells).entries()) setText(kept.cells[column], cell.textContent);
    } else {
      kept?.remove();
      kept = row;
    }
    if (shown.rows[index] !== kept) shown.insertBefore(kept, shown.rows[index] ?? null);
  }
  for (const row of leftover.values()) row.remove();
}

function setText(element: HTMLElement | undefined, text: string | null): void {
  if (element && element.textContent !== text) element.textContent = text;
}

/** A table with its caption and column headings, and no rows yet. */
function statsTable(captionText: string, columns: readonly string[]): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'servers';
  const caption = document.createElement('caption');
  caption.textContent = captionText;
  const head = table.createTHead().insertRow();
  for (const title of columns) {
    const cell = document.createElement('th');
    cell.scope = 'col';
    cell.textContent = title;
    head.append(cell);
  }
  table.prepend(caption);
  return table;
}

/**
 * One row; its first text is the row's header cell (the server id), so screen readers name each
 * row by it. `data` becomes the row's data attributes, for the tests to find it by.
 */
function appendRow(
  body: HTMLTableSectionElement,
  data: Readonly<Record<string, string>>,
  cells: readonly string[],
): void {
  const row = body.insertRow();
  Object.assign(row.dataset, data);
  const [heading = '', ...values] = cells;
  const header = document.createElement('th');
  header.scope = 'row';
  header.textContent = heading;
  row.append(header);
  for (const text of values) row.insertCell().textContent = text;
}
