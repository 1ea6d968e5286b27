import { describe, expect, it } from 'vitest';
import { demoConfig, embedQuery } from './config.js';

describe('config', () => {
  it('embedQuery - passes the broker and queue on to the plain page, and the vhost when it is not the default', () => {
    const env = { VITE_STOMP_URL: 'ws://a:15674/ws, ws://b:15674/ws', VITE_RPC_QUEUE: 'jobs' } as ImportMetaEnv;
    expect(Object.fromEntries(new URLSearchParams(embedQuery(demoConfig(env))))).toEqual({
      url: 'ws://a:15674/ws,ws://b:15674/ws',
      queue: 'jobs',
    });
    const withVhost = embedQuery(demoConfig({ ...env, VITE_STOMP_VHOST: 'team/a' }));
    expect(new URLSearchParams(withVhost).get('vhost')).toBe('team/a');
  });
});
