// Turns a V8 .cpuprofile (node --cpu-prof) into a short Markdown summary: where the samples fell,
// by package and by function (self time).

/** Which part of the stack a profile node belongs to, from its script URL. */
function areaOf(callFrame) {
  const { url, functionName } = callFrame;
  if (url === '') {
    if (/garbage collector/.test(functionName)) return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return functionName || 'native';
  }
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1];
  const ours = /packages\/(client|server)\//.exec(url);
  if (ours) return `@stomp-rpc/${ours[1]}`;
  if (url.startsWith('node:')) return 'Node internals';
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

export function summarizeProfile(profile, top = 15) {
  const intervals = new Map();
  // Each sample's duration is the next time delta; attribute it to the sampled node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    intervals.set(id, (intervals.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const byArea = new Map();
  const byFunction = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const us = intervals.get(node.id) ?? 0;
    if (us === 0) continue;
    total += us;
    const area = areaOf(node.callFrame);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const file = node.callFrame.url.split('/').slice(-1)[0];
    const name = `${node.callFrame.functionName || '(anonymous)'} ${file ? `(${file}:${node.callFrame.lineNumber + 1})` : ''}`;
    const key = `${area}|${name}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const busy = total - (byArea.get('idle') ?? 0);
  const share = (us) => `${((100 * us) / total).toFixed(1)}%`;
  const lines = [
    `${(total / 1e6).toFixed(2)} s sampled, ${share(busy)} busy.`,
    '',
    '| area | self time |',
    '| --- | ---: |',
  ];
  for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 10))
    lines.push(`| ${area} | ${share(us)} |`);
  lines.push('', '| function (area) | self time |', '| --- | ---: |');
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [area, name] = key.split('|');
    lines.push(`| ${name.trim()} (${area}) | ${share(us)} |`);
  }
  return lines.join('\n');
}
