// The live servers panel: every server that announces itself on the presence topic for our queue,
// with its in-flight count, request rate (from the difference between two announcements), average
// processing time, errors, and how many of the current burst's calls it answered.
import type { ServerInfo } from '@stomp-rpc/client';
import { formatMs } from './format.js';

/** What the panel remembers of a server's last announcement, to turn its counters into a rate. */
export interface Sample {
  requests: number;
  lastSeen: number;
  perSecond: number;
}

const COLUMNS = ['server', 'host · pid', 'in flight', 'req/s', 'avg time', 'errors', 'this burst', 'seen'] as const;

/**
 * The sample after `server`'s latest announcement. The panel redraws every second but servers
 * announce less often, so the rate is only recomputed when an announcement is new; until then
 * the previous sample (and its rate) stands. A server's first sample has no rate yet.
 */
export function nextSample(previous: Sample | undefined, server: ServerInfo): Sample {
  if (previous && server.lastSeen === previous.lastSeen) return previous;
  const seconds = previous ? (server.lastSeen - previous.lastSeen) / 1000 : 0;
  const perSecond = previous && seconds > 0 ? (server.stats.requests - previous.requests) / seconds : 0;
  return { requests: server.stats.requests, lastSeen: server.lastSeen, perSecond };
}

/** The texts of one server's row, in the order of COLUMNS. */
export function serverCells(
  server: ServerInfo,
  seen: { perSecond: number; burstCalls: number; now: number },
): string[] {
  const errors = Object.values(server.stats.errors).reduce((sum, count) => sum + (count ?? 0), 0);
  return [
    server.id,
    `${server.host} · ${server.pid}`,
    `${server.inFlight} / ${server.prefetch}`,
    seen.perSecond.toFixed(1),
    // An average over no answered calls would read as 0 ms, which looks like a fast server.
    server.stats.succeeded > 0 ? formatMs(server.stats.processingMs.average) : '–',
    String(errors),
    String(seen.burstCalls),
    `${Math.max(0, Math.round((seen.now - server.lastSeen) / 1000))} s ago`,
  ];
}

export class ServersPanel {
  readonly #container: HTMLElement;
  readonly #samples = new Map<string, Sample>();
  /** Calls of the current burst each server answered, by server id. */
  burstShare = new Map<string, number>();

  constructor(container: HTMLElement) {
    this.#container = container;
  }

  render(servers: readonly ServerInfo[], now = Date.now()): void {
    this.#updateSamples(servers);
    if (servers.length === 0) {
      this.#container.replaceChildren(noServersNote());
      return;
    }
    const table = serversTable(servers.length);
    const body = table.createTBody();
    for (const server of [...servers].sort((a, b) => a.id.localeCompare(b.id))) {
      const perSecond = this.#samples.get(server.id)?.perSecond ?? 0;
      const burstCalls = this.burstShare.get(server.id) ?? 0;
      appendServerRow(body, server.id, serverCells(server, { perSecond, burstCalls, now }));
    }
    // Narrow screens scroll the table, not the page.
    const wrapper = document.createElement('div');
    wrapper.className = 'table-scroll';
    wrapper.append(table);
    this.#container.replaceChildren(wrapper);
  }

  /** Takes in the latest announcements and forgets servers that are no longer live. */
  #updateSamples(servers: readonly ServerInfo[]): void {
    for (const server of servers) this.#samples.set(server.id, nextSample(this.#samples.get(server.id), server));
    const live = new Set(servers.map((server) => server.id));
    for (const id of this.#samples.keys()) if (!live.has(id)) this.#samples.delete(id);
  }
}

function noServersNote(): HTMLParagraphElement {
  const empty = document.createElement('p');
  empty.className = 'muted';
  empty.id = 'no-servers';
  empty.textContent = 'No server has announced itself on this queue. Start one with: npm run server';
  return empty;
}

/** The table with its caption and column headings, and no rows yet. */
function serversTable(serverCount: number): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'servers';
  const caption = document.createElement('caption');
  caption.textContent = `${serverCount} live ${serverCount === 1 ? 'server' : 'servers'}`;
  const head = table.createTHead().insertRow();
  for (const title of COLUMNS) {
    const cell = document.createElement('th');
    cell.scope = 'col';
    cell.textContent = title;
    head.append(cell);
  }
  table.prepend(caption);
  return table;
}

/** One server's row; its id is the row's header cell, so screen readers name each row by it. */
function appendServerRow(body: HTMLTableSectionElement, serverId: string, cells: readonly string[]): void {
  const row = body.insertRow();
  row.dataset.server = serverId;
  const [heading = '', ...values] = cells;
  const header = document.createElement('th');
  header.scope = 'row';
  header.textContent = heading;
  row.append(header);
  for (const text of values) row.insertCell().textContent = text;
}
