/*
 * `@stomp-rpc/client`: the client API. The wire protocol is `@stomp-rpc/client/protocol`; the
 * transport and other shared internals, for our server and tools, `@stomp-rpc/client/internal`.
 */
export { ENVIRONMENT, type EnvironmentOptions, optionsFromEnvironment } from './env.js';
export * from './page.js';
