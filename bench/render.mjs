// The chart of BENCHMARKS.md: calls/s by scenario, one bar per level of calls in flight, with the
// range over the repetitions as a whisker. Plain SVG, no dependencies, stable for the same input.

const COLORS = ['#9ecae1', '#3182bd', '#08519c'];
const escapeXml = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

export function renderChart(rows, levels, caption) {
  const scenarios = [...new Map(rows.map((row) => [row.id, row.label])).entries()];
  const barHeight = 14;
  const groupHeight = levels.length * barHeight + 14;
  const left = 300;
  const width = 960;
  const plotWidth = width - left - 90;
  const top = 48;
  const height = top + scenarios.length * groupHeight + 40;
  const max = Math.max(...rows.map((row) => row.max));
  const scale = (value) => (value / max) * plotWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<title>Calls/s of fib(30) by scenario and calls in flight</title>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Calls/s of fib(30) by scenario and calls in flight (median; whisker: range)</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(caption)}</text>`,
  ];
  scenarios.forEach(([id, label], index) => {
    const y0 = top + index * groupHeight;
    parts.push(
      `<text x="${left - 8}" y="${y0 + (levels.length * barHeight) / 2 + 4}" text-anchor="end">${escapeXml(label)}</text>`,
    );
    levels.forEach((level, li) => {
      const row = rows.find((r) => r.id === id && r.level === level);
      if (!row) return;
      const y = y0 + li * barHeight;
      const w = scale(row.callsPerSecond).toFixed(1);
      parts.push(
        `<rect x="${left}" y="${y}" width="${w}" height="${barHeight - 2}" fill="${COLORS[li % COLORS.length]}"/>`,
      );
      const mid = y + (barHeight - 2) / 2;
      parts.push(
        `<line x1="${(left + scale(row.min)).toFixed(1)}" x2="${(left + scale(row.max)).toFixed(1)}" y1="${mid}" y2="${mid}" stroke="#000"/>`,
      );
      parts.push(
        `<text x="${(left + scale(row.max) + 4).toFixed(1)}" y="${y + barHeight - 4}" fill="#333">${Math.round(row.callsPerSecond).toLocaleString('en-US')} @${level}</text>`,
      );
    });
  });
  const legendY = height - 14;
  levels.forEach((level, li) => {
    const x = left + li * 130;
    parts.push(`<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[li % COLORS.length]}"/>`);
    parts.push(`<text x="${x + 16}" y="${legendY}">${level} in flight</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
