export const BUNDLE_TARGET_BYTES: number;
export interface ThroughputRow {
  id: string;
  level: number;
  callsPerSecond: number;
  p50: number;
  errors: number;
}
export function targetVerdicts(report: {
  throughput: readonly ThroughputRow[];
  bundle?: { gzip: number } | undefined;
}): string[];
