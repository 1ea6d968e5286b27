// The broker script's pure parts: the reading of STOMP_URL, which system units an install stops. No broker needed.
import { afterEach, describe, expect, it } from 'vitest';
import { brokerUrl, brokerUrls, unitsToStop } from './broker.mjs';

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
    ]) {
      process.env.STOMP_URL = value;
      expect(() => brokerUrls(), value).toThrow(message);
    }
  });
});

describe('broker script - installing RabbitMQ under systemd', () => {
  it('stops the broker service the package started, and epmd only when nothing used it before the install', () => {
    expect(unitsToStop([])).toEqual(['rabbitmq-server', 'epmd.socket', 'epmd.service']);
    expect(unitsToStop(['epmd.socket'])).toEqual(['rabbitmq-server']);
  });
});
