// The targets of BENCHMARKS.md ("Targets"), judged on one run's own rows: ratios against peers
// measured in the same run, never absolute numbers.
import { fmt } from './lib.mjs';

/** The bundle target: 12 KiB gzipped. */
export const BUNDLE_TARGET_BYTES = 12 * 1024;

/**
 * One table row per target. A ratio is judged only on rows where every call was answered: a peer
 * that lost a call (or hung) measured itself short, which would flatter us.
 */
export function targetVerdicts(report) {
  const row = (id, level) => report.throughput.find((r) => r.id === id && r.level === level);
  const targets = [];
  const ratio = (label, mine, theirs, needed, what = 'calls/s') => {
    if (!mine || !theirs) return;
    const value = what === 'p50' ? mine.p50 / theirs.p50 : mine.callsPerSecond / theirs.callsPerSecond;
    const failed = mine.errors + theirs.errors;
    const measured = mine.callsPerSecond > 0 && theirs.callsPerSecond > 0 && Number.isFinite(value);
    const met = measured && failed === 0 && (what === 'p50' ? value <= needed : value >= needed);
    let verdict = met ? 'met' : 'MISSED';
    if (!measured) verdict = 'MISSED: a row has no call answered';
    else if (failed > 0) verdict = `MISSED: not judged, ${failed} call${failed === 1 ? '' : 's'} failed in these rows`;
    // Two decimals, or three where two would show a miss as the target itself (1.295 as 1.30).
    const shown = fmt(value, fmt(value, 2) === fmt(needed, 2) && value !== needed ? 3 : 2);
    targets.push(`| ${label} | ${shown}x | ${what === 'p50' ? '≤' : '≥'} ${needed}x | ${verdict} |`);
  };
  for (const level of [64, 256]) {
    ratio(
      `defaults vs RxStompRPC tuned, ${level} in flight`,
      row('project-defaults', level),
      row('rx-tuned', level),
      1.3,
    );
  }
  ratio('defaults vs raw echo, 256 in flight', row('project-defaults', 256), row('echo', 256), 0.9);
  ratio('defaults p50 vs raw echo p50, 1 in flight', row('project-defaults', 1), row('echo', 1), 1.25, 'p50');
  if (report.bundle) {
    const met = report.bundle.gzip <= BUNDLE_TARGET_BYTES;
    targets.push(
      `| script-tag bundle, gzipped | ${fmt(report.bundle.gzip)} bytes | ≤ ${fmt(BUNDLE_TARGET_BYTES)} bytes | ${met ? 'met' : 'MISSED'} |`,
    );
  }
  if (targets.length === 0) return [];
  return [
    'Targets, judged on this run:',
    '',
    '| target | measured | needed | verdict |',
    '| --- | ---: | ---: | --- |',
    ...targets,
  ];
}
