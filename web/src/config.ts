// Where the demo connects, and as whom: Vite env variables, read at build (or dev-server start)
// time. The defaults are the local-development broker and its least-privilege browser user from
// rabbitmq-conf/definitions.json; a deployment sets its own in web/.env.local (Vite reads env
// files from web/, the demo's root) or the environment.
import { DEFAULT_QUEUE, DEFAULT_STOMP_URL } from '@stomp-rpc/client';

export interface DemoConfig {
  /** Web-STOMP URLs: the client starts at a random one and fails over to the next (randomizeUrls). */
  urls: string[];
  login: string;
  passcode: string;
  vhost: string;
  queue: string;
}

export function demoConfig(env: ImportMetaEnv = import.meta.env): DemoConfig {
  const urls = (env.VITE_STOMP_URL || DEFAULT_STOMP_URL)
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  return {
    urls,
    login: env.VITE_STOMP_LOGIN || 'rpc-browser',
    passcode: env.VITE_STOMP_PASSCODE || 'rpc-browser',
    vhost: env.VITE_STOMP_VHOST || '/',
    queue: env.VITE_RPC_QUEUE || DEFAULT_QUEUE,
  };
}

/**
 * The query string of the link to the plain page (web/embed.html), which has no build step and so
 * takes where to connect from its address: the broker, the queue and a vhost other than '/'.
 */
export function embedQuery(config: DemoConfig): string {
  const query = new URLSearchParams({ url: config.urls.join(','), queue: config.queue });
  if (config.vhost !== '/') query.set('vhost', config.vhost);
  return query.toString();
}
