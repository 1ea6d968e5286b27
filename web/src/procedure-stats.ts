// Each server's per-procedure counters, from its announcements, as the rows of the servers
// panel's procedure table; unit-tested in procedure-stats.test.ts. A server reports a procedure
// once it has handled a request for it, and servers from before services report none.
import type { ProcedureStats, ServerInfo } from '@stomp-rpc/client';
import { formatMs } from './format.js';

export const PROCEDURE_COLUMNS = ['server', 'procedure', 'requests', 'errors', 'cancelled', 'mean time'] as const;

export interface ProcedureRow {
  server: string;
  procedure: string;
  /** In the order of PROCEDURE_COLUMNS. */
  cells: string[];
}

/** Errors over all codes. */
export function totalErrors(errors: ProcedureStats['errors']): number {
  return Object.values(errors).reduce((sum, count) => sum + (count ?? 0), 0);
}

/** The texts of one procedure's row. */
export function procedureCells(server: string, procedure: string, stats: ProcedureStats): string[] {
  return [
    server,
    procedure,
    String(stats.requests),
    String(totalErrors(stats.errors)),
    String(stats.cancelled),
    // `requests` counts the answered ones, whose times `processingMs` adds up; none: no mean.
    stats.requests > 0 ? formatMs(stats.processingMs / stats.requests) : '–',
  ];
}

/** Every procedure of every server, by server id and then procedure name. */
export function procedureRows(servers: readonly ServerInfo[]): ProcedureRow[] {
  const rows: ProcedureRow[] = [];
  for (const server of [...servers].sort((a, b) => a.id.localeCompare(b.id))) {
    const procedures = Object.entries(server.stats.procedures ?? {}).sort(([a], [b]) => a.localeCompare(b));
    for (const [procedure, stats] of procedures) {
      rows.push({ server: server.id, procedure, cells: procedureCells(server.id, procedure, stats) });
    }
  }
  return rows;
}
