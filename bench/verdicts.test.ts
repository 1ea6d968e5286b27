import { describe, expect, it } from 'vitest';
import { type ThroughputRow, targetVerdicts } from './verdicts.mjs';

const row = (id: string, level: number, callsPerSecond: number, errors = 0, p50 = 1): ThroughputRow => ({
  id,
  level,
  callsPerSecond,
  p50,
  errors,
});

/** The verdict rows, by target label. */
function verdicts(throughput: ThroughputRow[], bundle?: { gzip: number }): Record<string, string> {
  const rows = targetVerdicts({ throughput, bundle }).filter(
    (line) => line.startsWith('| ') && !line.startsWith('| target'),
  );
  return Object.fromEntries(
    rows
      .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| | \|$/g, '')))
      .map((cells) => [cells[0], `${cells[1]} ${cells[3]}`]),
  );
}

describe('targetVerdicts', () => {
  it('judges the ratios of one run against their targets', () => {
    const judged = verdicts([
      row('project-defaults', 64, 1400),
      row('rx-tuned', 64, 1000),
      row('project-defaults', 256, 900),
      row('echo', 256, 1000),
    ]);
    expect(judged['defaults vs RxStompRPC tuned, 64 in flight']).toBe('1.40x met');
    expect(judged['defaults vs raw echo, 256 in flight']).toBe('0.90x met');
  });

  it('a row with failed calls is never met: a peer that lost a call measured itself short', () => {
    const judged = verdicts([row('project-defaults', 64, 4000), row('rx-tuned', 64, 1000, 1)]);
    expect(judged['defaults vs RxStompRPC tuned, 64 in flight']).toBe(
      '4.00x MISSED: not judged, 1 call failed in these rows',
    );
  });

  it('a row without a call answered is never met', () => {
    const judged = verdicts([row('project-defaults', 64, 1000), row('rx-tuned', 64, 0, 100)]);
    expect(judged['defaults vs RxStompRPC tuned, 64 in flight']).toMatch(/MISSED: a row has no call answered$/);
  });

  it('a miss just under the target is shown with the digit that makes it a miss', () => {
    const judged = verdicts([row('project-defaults', 64, 1295), row('rx-tuned', 64, 1000)]);
    expect(judged['defaults vs RxStompRPC tuned, 64 in flight']).toBe('1.295x MISSED');
  });

  it('the bundle is judged against 12 KiB gzipped', () => {
    expect(verdicts([], { gzip: 12_288 })['script-tag bundle, gzipped']).toBe('12,288 bytes met');
    expect(verdicts([], { gzip: 12_289 })['script-tag bundle, gzipped']).toBe('12,289 bytes MISSED');
  });
});
