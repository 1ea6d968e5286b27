/*
 * STOMP 1.2 frames by hand, for the tests and benchmarks that talk to the broker without a library
 * (hostile frames, a raw echo as the ceiling). One codec for both.
 *
 * A frame is COMMAND, header lines, a blank line, the body and a NUL. Bare end-of-lines between
 * frames are heart-beats and are skipped. A body with NUL bytes needs `content-length`, so binary
 * bodies always get one; text bodies here hold no NUL and need none. Header values are sent as
 * given (no escaping): these callers send plain values, or deliberately malformed ones.
 */

/** A frame from the command, headers (an object, or name/value pairs that may repeat) and body. */
export function encodeFrame(command, headers, body = '') {
  const pairs = Array.isArray(headers) ? [...headers] : Object.entries(headers);
  if (typeof body !== 'string') pairs.push(['content-length', String(body.length)]);
  let head = `${command}\n`;
  for (const [name, value] of pairs) head += `${name}:${value}\n`;
  if (typeof body === 'string') return `${head}\n${body}\0`;
  return Buffer.concat([Buffer.from(`${head}\n`), body, Buffer.from([0])]);
}

/** Every frame in `data` (one WebSocket message); throws on a frame cut short. */
export function decodeFrames(data) {
  const frames = [];
  let offset = 0;
  while (offset < data.length) {
    while (offset < data.length && (data[offset] === 0x0a || data[offset] === 0x0d)) offset++; // heart-beats
    if (offset >= data.length) break;
    const headerEnd = data.indexOf('\n\n', offset);
    if (headerEnd < 0) throw new Error(`incomplete frame: ${data.subarray(offset, offset + 80).toString()}`);
    const [command = '', ...lines] = data.subarray(offset, headerEnd).toString('utf8').split('\n');
    const headerLines = lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1)];
    });
    const headers = {};
    for (const [name, value] of headerLines) headers[name] ??= value; // STOMP 1.2: the first one counts
    const bodyStart = headerEnd + 2;
    const declared = headers['content-length'];
    if (declared !== undefined && !/^\d{1,15}$/.test(declared)) {
      throw new Error(`bad content-length in ${command}: ${declared}`); // -5 would loop back
    }
    const length = declared === undefined ? undefined : Number(declared);
    const bodyEnd = length === undefined ? data.indexOf(0, bodyStart) : bodyStart + length;
    if (bodyEnd < 0 || bodyEnd >= data.length) throw new Error(`frame without its NUL: ${command}`);
    frames.push({ command, headerLines, headers, body: data.subarray(bodyStart, bodyEnd) });
    offset = bodyEnd + 1;
  }
  return frames;
}
