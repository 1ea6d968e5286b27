// The broker script's pure parts: the reading of STOMP_URL, which system units an install stops. No broker needed.
import { afterEach, describe, expect, it } from 'vitest';
import { brokerUrl, brokerUrls, shownUrl, unitsToStop } from './broker.mjs';

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

describe('broker script - URLs shown', () => {
  it('a user and password in a URL are never shown, even in one that does not parse (a password with / ? or #)', () => {
    expect(shownUrl('ws://127.0.0.1:15674/ws')).toBe('ws://127.0.0.1:15674/ws');
    expect(shownUrl('ws://rpc-server:s3cret@broker:15674/ws')).toBe('ws://broker:15674/ws');
    expect(shownUrl('ws://bob:s3cret/9xQ+z@127.0.0.1:1/ws')).toBe('ws://127.0.0.1:1/ws');
    expect(shownUrl('wss://u:s3c?ret#x@host/ws')).toBe('wss://host/ws');
  });
});

describe('broker script - installing RabbitMQ under systemd', () => {
  it('stops the broker service the package started, and epmd only when nothing used it before the install', () => {
    expect(unitsToStop([])).toEqual(['rabbitmq-server', 'epmd.socket', 'epmd.service']);
    expect(unitsToStop(['epmd.socket'])).toEqual(['rabbitmq-server']);
  });
});
