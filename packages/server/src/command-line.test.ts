import { isRpcError } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, USAGE } from './command-line.js';

/**
 * What the server's command line makes of `args` (no environment): its settings, what it prints
 * instead (--help, --version), or the refusal main() exits 2 with.
 */
function parse(args: string[], env: Record<string, string> = {}) {
  try {
    const parsed = parseCommandLine(args, env);
    return typeof parsed === 'string' ? { prints: parsed } : { settings: parsed };
  } catch (error) {
    return { code: isRpcError(error) ? error.code : 'not an RpcError', message: (error as Error).message };
  }
}

describe('server command line', () => {
  it('server cli - --metrics-host without --metrics-port is a usage error, not silently ignored', () => {
    const refused = parse(['--metrics-host', '0.0.0.0']);
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.message).toContain('--metrics-host needs --metrics-port');
    const both = parse(['--metrics-host', '0.0.0.0', '--metrics-port', '9464']).settings;
    expect(both?.metricsPort).toBe(9464);
  });

  it('server cli - an empty --metrics-host (an unset variable) is a usage error, not every interface', () => {
    for (const host of ['', ' ']) {
      const refused = parse(['--metrics-host', host, '--metrics-port', '9464']);
      expect(refused, JSON.stringify(host)).toEqual({
        code: 'INVALID_ARGUMENT',
        message: '--metrics-host needs an address',
      });
    }
  });

  it("server cli - a queue name that is empty, has a '/' or is over 255 bytes is a usage error, from --queue or RPC_QUEUE", () => {
    for (const queue of ['', 'a/b', '/queue/x', 'q'.repeat(256), 'é'.repeat(128)]) {
      const refused = parse(['--queue', queue]);
      expect(refused.code, JSON.stringify(queue)).toBe('INVALID_ARGUMENT');
      expect(refused.message).toContain("--queue (or RPC_QUEUE) must be a name of 1 to 255 bytes without '/'");
    }
    expect(parse([], { RPC_QUEUE: 'jobs/high' }).code).toBe('INVALID_ARGUMENT');
    expect(parse(['--queue', 'q'.repeat(255)]).settings?.connection.queue).toHaveLength(255);
    expect(parse(['--queue', 'rpc_queue.v2']).settings?.connection.queue).toBe('rpc_queue.v2');
    expect(parse([]).settings?.connection.queue).toBe('rpc_queue');
  });

  it('server cli - --max-reply-bytes sets the largest reply (default 253952, under the bundled 256 KiB frame limit), 1024 to 512 MiB', () => {
    expect(parse([]).settings?.maxReplyBytes).toBe(253_952);
    expect(parse(['--max-reply-bytes', '1048576']).settings?.maxReplyBytes).toBe(1_048_576);
    for (const bytes of ['0', '1023', '536870913', '1.5', 'x'])
      expect(parse(['--max-reply-bytes', bytes]).code, bytes).toBe('INVALID_ARGUMENT');
    expect(USAGE).toContain('--max-reply-bytes <bytes>');
  });

  it('server cli - --max-n over 100000000 is a usage error (fib(n) would near V8’s BigInt limit), and --help says so', () => {
    expect(parse(['--max-n', '100000001']).code).toBe('INVALID_ARGUMENT');
    expect(parse(['--max-n', '1000000000000']).message).toContain('--max-n takes a whole number from 0 to 100000000');
    expect(parse(['--max-n', '100000000']).settings?.maxN).toBe(100_000_000);
    expect(USAGE).toContain('--max-n <n>           largest n served, 0 to 100000000');
  });

  it('server cli - --presence-ms outside 0 or 100 to 3600000 is a usage error of the flag, before anything starts', () => {
    for (const ms of ['50', '99', '3600001']) {
      expect(parse(['--presence-ms', ms])).toEqual({
        code: 'INVALID_ARGUMENT',
        message: `--presence-ms takes 0 (never) or 100 to 3600000 ms, got ${ms}`,
      });
    }
    for (const ms of [0, 100, 3_600_000]) expect(parse(['--presence-ms', String(ms)]).settings?.presenceMs).toBe(ms);
  });

  it('server cli - --default-deadline-ms is the deadline of a request without one (default 300000); 0, a fraction or over a timer’s reach is refused', () => {
    expect(parse([]).settings?.defaultDeadlineMs).toBe(300_000);
    expect(parse(['--default-deadline-ms', '5000']).settings?.defaultDeadlineMs).toBe(5000);
    for (const ms of ['0', '1.5', '2147483648', 'soon'])
      expect(parse(['--default-deadline-ms', ms]), ms).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(USAGE).toContain('--default-deadline-ms');
  });

  it('server cli - --no-cancels turns off listening for cancels (a user without read access to rpc.cancel); it takes no value', () => {
    expect(parse([]).settings?.cancels).toBe(true);
    expect(parse(['--no-cancels']).settings?.cancels).toBe(false);
    expect(parse(['--no-cancels=yes']).message).toBe('--no-cancels takes no value');
    expect(USAGE).toContain('--no-cancels');
  });

  it('server cli - --help wins over whatever else the command line says; --version too', () => {
    expect(parse(['--help', '--metrics-host', '0.0.0.0', '--queue', ''])).toEqual({ prints: 'help' });
    expect(parse(['--version', '--queue', ''])).toEqual({ prints: 'version' });
    expect(parse(['--version', '--help'])).toEqual({ prints: 'help' });
    expect(USAGE).toContain('--version');
  });

  it('server cli - a flag it does not know, or one missing its value, is refused in the client command’s words', () => {
    expect(parse(['--bogus'])).toMatchObject({ message: 'unknown option --bogus' });
    expect(parse(['--prefetch'])).toMatchObject({ message: '--prefetch needs a value' });
    expect(parse(['--durable=yes'])).toMatchObject({ message: '--durable takes no value' });
    expect(parse(['--prefetch', '8', '--help=1'])).toMatchObject({ message: '--help takes no value' }); // also -h
  });
});
