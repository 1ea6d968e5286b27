export interface Frame {
  command: string;
  /** Every header line in order (repeats kept). */
  headerLines: [string, string][];
  /** The first value of each header, as STOMP 1.2 says a receiver reads it. */
  headers: Record<string, string>;
  body: Buffer;
}
export type FrameHeaders = Record<string, string> | [string, string][];
export function encodeFrame(command: string, headers: FrameHeaders, body?: string): string;
export function encodeFrame(command: string, headers: FrameHeaders, body: string | Buffer): string | Buffer;
export function decodeFrames(data: Buffer): Frame[];
