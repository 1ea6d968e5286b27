// The broker script's pure parts: the reading of STOMP_URL, which system units an install stops. No broker needed.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerUrl, brokerUrls, requireOwnBroker, shownUrl, unitsToStop } from './broker.mjs';

const given = process.env.STOMP_URL;

describe('broker script - STOMP_URL', () => {
  afterEach(() => {
    if (given === undefined) delete process.env.STOMP_URL;
    else process.env.STOMP_URL = given;
  });

  it('a list is read as the programs read it: blanks dropped, any ws:// or wss:// URL, the first one is brokerUrl()', () => {
    process.env.STOMP_URL = ' ws://a:1/ws ,, WSS://b:2/ws,';
    expect(brokerUrls()).toEqual(['ws://a:1/ws', 'WSS://b:2/ws']);
    expect(brokerUrl()).toBe('ws://a:1/ws');
  });

  it('a list without a URL, or a URL that is not ws:// or wss://, is refused by name', () => {
    for (const [value, message] of [
      [',', 'STOMP_URL: no URL in it'],
      ['http://a:1/ws', 'STOMP_URL: not a ws:// or wss:// URL: "http://a:1/ws"'],
      ['localhost:15674', 'STOMP_URL: not a ws:// or wss:// URL: "localhost:15674"'],
      ['ws://a:1/ws,nope', 'STOMP_URL: not a ws:// or wss:// URL: "nope"'],
      ['http://u:s3cret@a:1/ws', 'STOMP_URL: not a ws:// or wss:// URL: "http://a:1/ws"'],
    ]) {
      process.env.STOMP_URL = value;
      expect(() => brokerUrls(), value).toThrow(message);
    }
  });
});

// Regression: the tests ran against another checkout's node, with another commit's definitions,
// after a one-line note; tests that restart the node then failed far from the cause.
describe('broker script - the tests’ broker', () => {
  it("refuses a broker on this checkout's port that is not this checkout's node, naming what to do", () => {
    const url = 'ws://127.0.0.1:15674/ws';
    expect(() => requireOwnBroker({ url, foreign: false })).not.toThrow();
    expect(() => requireOwnBroker({ url, foreign: true })).toThrow(
      /^Web-STOMP at ws:\/\/127\.0\.0\.1:15674\/ws is not this checkout's node .*npm run broker:stop/,
    );
  });
});

describe('broker script - URLs shown', () => {
  it('a user and password in a URL are never shown, even in one that does not parse (a password with / ? or #)', () => {
    expect(shownUrl('ws://127.0.0.1:15674/ws')).toBe('ws://127.0.0.1:15674/ws');
    expect(shownUrl('ws://rpc-server:s3cret@broker:15674/ws')).toBe('ws://broker:15674/ws');
    expect(shownUrl('ws://bob:s3cret/9xQ+z@127.0.0.1:1/ws')).toBe('ws://127.0.0.1:1/ws');
    expect(shownUrl('wss://u:s3c?ret#x@host/ws')).toBe('wss://host/ws');
    // These parse, but wrongly: the password as a port and path; the user as the scheme.
    expect(shownUrl('ws://admin:1234/x@broker:15674/ws')).toBe('ws://broker:15674/ws');
    expect(shownUrl('guest:s3cret@localhost:15674/ws')).toBe('localhost:15674/ws');
  });
});

describe('broker script - installing RabbitMQ under systemd', () => {
  it('stops the broker service the package started, and epmd only when nothing used it before the install', () => {
    expect(unitsToStop([])).toEqual(['rabbitmq-server', 'epmd.socket', 'epmd.service']);
    expect(unitsToStop(['epmd.socket'])).toEqual(['rabbitmq-server']);
  });
});

describe('broker script - installing', () => {
  it("apt-get's progress goes to stderr, never to the caller's stdout (form-cluster.mjs's outcome is there)", () => {
    const bin = mkdtempSync(join(tmpdir(), 'fake-apt-'));
    try {
      // Stands in for apt-get: prints as apt does and succeeds; nothing is installed.
      writeFileSync(join(bin, 'apt-get'), '#!/bin/sh\necho "Reading package lists... Done"\n');
      chmodSync(join(bin, 'apt-get'), 0o755);
      const script = `import { aptInstall } from ${JSON.stringify(new URL('./broker.mjs', import.meta.url).href)}; aptInstall('nothing');`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('Reading package lists');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
