import { createRequire } from 'node:module';

/** This package's version, as servers announce it. */
export const SERVER_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;
