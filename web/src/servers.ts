// The live servers panel: every server that announces itself on the presence topic for our queue,
// with its in-flight count, request rate (from the difference between two announcements), average
// processing time, errors, and how many of the current burst's calls it answered.
import type { ServerInfo } from '@stomp-rpc/client';
import { formatMs } from './format.js';

interface Sample {
  requests: number;
  lastSeen: number;
  perSecond: number;
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
    for (const server of servers) {
      const previous = this.#samples.get(server.id);
      if (!previous || server.lastSeen !== previous.lastSeen) {
        const seconds = previous ? (server.lastSeen - previous.lastSeen) / 1000 : 0;
        const perSecond = previous && seconds > 0 ? (server.stats.requests - previous.requests) / seconds : 0;
        this.#samples.set(server.id, { requests: server.stats.requests, lastSeen: server.lastSeen, perSecond });
      }
    }
    const live = new Set(servers.map((server) => server.id));
    for (const id of this.#samples.keys()) if (!live.has(id)) this.#samples.delete(id);

    if (servers.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'muted';
      empty.id = 'no-servers';
      empty.textContent = 'No server has announced itself on this queue. Start one with: npm run server';
      this.#container.replaceChildren(empty);
      return;
    }
    const table = document.createElement('table');
    table.className = 'servers';
    const caption = document.createElement('caption');
    caption.textContent = `${servers.length} live ${servers.length === 1 ? 'server' : 'servers'}`;
    const head = table.createTHead().insertRow();
    for (const title of ['server', 'host · pid', 'in flight', 'req/s', 'avg time', 'errors', 'this burst', 'seen']) {
      const cell = document.createElement('th');
      cell.scope = 'col';
      cell.textContent = title;
      head.append(cell);
    }
    table.prepend(caption);
    const body = table.createTBody();
    for (const server of [...servers].sort((a, b) => a.id.localeCompare(b.id))) {
      const row = body.insertRow();
      row.dataset.server = server.id;
      const errors = Object.values(server.stats.errors).reduce((sum, count) => sum + (count ?? 0), 0);
      const cells = [
        server.id,
        `${server.host} · ${server.pid}`,
        `${server.inFlight} / ${server.prefetch}`,
        (this.#samples.get(server.id)?.perSecond ?? 0).toFixed(1),
        server.stats.succeeded > 0 ? formatMs(server.stats.processingMs.average) : '–',
        String(errors),
        String(this.burstShare.get(server.id) ?? 0),
        `${Math.max(0, Math.round((now - server.lastSeen) / 1000))} s ago`,
      ];
      for (const [index, text] of cells.entries()) {
        const cell = index === 0 ? document.createElement('th') : row.insertCell();
        if (index === 0) {
          (cell as HTMLTableCellElement).scope = 'row';
          row.append(cell);
        }
        cell.textContent = text;
      }
    }
    const wrapper = document.createElement('div');
    wrapper.className = 'table-scroll';
    wrapper.append(table);
    this.#container.replaceChildren(wrapper);
  }
}
