import { describe, expect, it } from 'vitest';
import { optionsFromCommandLine } from './env.js';

describe('env', () => {
  it('optionsFromCommandLine - flags win over the environment', () => {
    const env = { STOMP_URL: 'ws://a/ws', STOMP_LOGIN: 'env-user', RPC_QUEUE: 'env_queue' };
    expect(optionsFromCommandLine({ login: 'flag-user', queue: 'flag_queue' }, env)).toMatchObject({
      url: ['ws://a/ws'],
      login: 'flag-user',
      queue: 'flag_queue',
    });
  });

  it('optionsFromCommandLine - --durable excludes a queue profile, from a flag or from the environment', () => {
    expect(optionsFromCommandLine({ durable: true }, {})).toMatchObject({ queueDeclaration: { durable: true } });
    expect(() => optionsFromCommandLine({ durable: true, 'queue-profile': 'replicated' }, {})).toThrow(
      '--durable and --queue-profile exclude each other',
    );
    expect(() => optionsFromCommandLine({ durable: true }, { RPC_QUEUE_PROFILE: 'replicated' })).toThrow(
      '--durable and RPC_QUEUE_PROFILE exclude each other',
    );
  });
});
