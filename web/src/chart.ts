// The burst charts, drawn as plain SVG: a latency histogram and a calls-per-second line. Each
// redraw replaces the chart's children; at a few frames per second that is cheap and simple.
import type { Bucket, RatePoint } from './latency.js';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 200;
const PAD = { top: 18, right: 8, bottom: 34, left: 8 };
/** Labels need about this much room; on narrow charts every other one is left out. */
const LABEL_WIDTH = 34;

function element<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Clears the chart and sizes its coordinates to its width on screen, so text keeps its size. */
function reset(svg: SVGSVGElement): number {
  const width = Math.max(200, Math.round(svg.clientWidth || 640));
  svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
  svg.replaceChildren();
  return width;
}

/** Bars per latency bucket, each with its count above it and its range below. */
export function drawHistogram(svg: SVGSVGElement, buckets: Bucket[]): void {
  const width = reset(svg);
  const max = Math.max(1, ...buckets.map((bucket) => bucket.count));
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = (width - PAD.left - PAD.right) / buckets.length;
  const barWidth = slot * 0.78;
  const labelEvery = slot < LABEL_WIDTH ? 2 : 1;
  svg.append(
    element('line', {
      x1: PAD.left,
      x2: width - PAD.right,
      y1: HEIGHT - PAD.bottom,
      y2: HEIGHT - PAD.bottom,
      class: 'axis',
    }),
  );
  buckets.forEach((bucket, index) => {
    const x = PAD.left + index * slot + (slot - barWidth) / 2;
    const height = bucket.count === 0 ? 0 : Math.max(2, (bucket.count / max) * plotHeight);
    const y = HEIGHT - PAD.bottom - height;
    const bar = element('rect', { x, y, width: barWidth, height, class: 'bar', 'data-count': bucket.count });
    bar.append(element('title', {}, `${bucket.range} ms: ${bucket.count} calls`));
    svg.append(bar);
    if (bucket.count > 0) {
      svg.append(element('text', { x: x + barWidth / 2, y: y - 4, class: 'count' }, String(bucket.count)));
    }
    if (index % labelEvery === 0) {
      svg.append(element('text', { x: x + barWidth / 2, y: HEIGHT - PAD.bottom + 16, class: 'label' }, bucket.label));
    }
  });
}

/** Calls per second since the start of the burst, with the peak marked. */
export function drawRate(svg: SVGSVGElement, points: readonly RatePoint[], elapsedMs: number): void {
  const width = reset(svg);
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const baseline = HEIGHT - PAD.bottom;
  const peak = Math.max(1, ...points.map((point) => point.perSecond));
  const xOf = (ms: number) => PAD.left + (ms / Math.max(1, elapsedMs)) * (width - PAD.left - PAD.right);
  svg.append(element('line', { x1: PAD.left, x2: width - PAD.right, y1: baseline, y2: baseline, class: 'axis' }));
  if (points.length > 0) {
    const coordinates = [`${PAD.left},${baseline - ((points[0]?.perSecond ?? 0) / peak) * plotHeight}`];
    for (const point of points) {
      coordinates.push(
        `${xOf(point.atMs).toFixed(1)},${(baseline - (point.perSecond / peak) * plotHeight).toFixed(1)}`,
      );
    }
    svg.append(element('polyline', { points: coordinates.join(' '), class: 'rate' }));
    svg.append(element('text', { x: PAD.left, y: baseline + 16, class: 'start' }, '0 s'));
    svg.append(
      element('text', { x: width - PAD.right, y: baseline + 16, class: 'end' }, `${(elapsedMs / 1000).toFixed(1)} s`),
    );
  }
  const caption = points.length === 0 ? 'no calls yet' : `peak ${Math.round(peak).toLocaleString('en-US')} calls/s`;
  svg.append(element('text', { x: PAD.left, y: PAD.top - 4, class: 'peak' }, caption));
}
