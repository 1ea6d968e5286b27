// The script-tag build: one IIFE file that puts a single global, `StompRpc`, on `window`, with
// the parts of @stomp/stompjs it uses bundled in. It bundles the ESM build tsc writes to dist/
// (so run `tsc -b` first) from page.js, the API without the Node-only environment helpers,
// resolved with browser conditions, so `#default-websocket` picks the page's WebSocket and `ws`
// never enters the bundle. Output: dist/browser/stomp-rpc.iife.js.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: 'dist/browser',
    // Files written over in place, not the folder emptied first: `npm start` rebuilding while the
    // tests load the bundle must not take it away. `npm run build` starts from an empty dist/.
    emptyOutDir: false,
    sourcemap: true,
    minify: true,
    target: 'es2022',
    rolldownOptions: {
      // After minifying (which would drop it): the file bundles Apache-2.0 code.
      output: {
        postBanner:
          '/*! @stomp-rpc/client (MIT) with parts of @stomp/stompjs, Copyright 2018-2020 Deepak Kumar, Apache-2.0: see THIRD-PARTY-NOTICES */',
      },
    },
    lib: {
      entry: 'dist/page.js',
      name: 'StompRpc',
      formats: ['iife'],
      fileName: () => 'stomp-rpc.iife.js',
    },
  },
});
