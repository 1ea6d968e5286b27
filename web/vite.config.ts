// The demo app. `npm start` serves it with this config (scripts/start.mjs); the browser tests do
// too (test/browser). The script-tag build of the client (packages/client/dist/browser, made by
// `npm run build`) is served as-is at the root, so embed.html needs no build step.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const fromHere = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: fromHere('.'),
  publicDir: fromHere('../packages/client/dist/browser'),
  // Listen on loopback only, like the broker; the browser reaches Web-STOMP directly. Serve files
  // from the page, the client and the dependencies only: Vite's default is the whole checkout (the
  // workspace root), whose .rabbitmq/ holds the brokers' Erlang cookies, a remote shell's key.
  server: {
    host: '127.0.0.1',
    strictPort: false,
    fs: { allow: [fromHere('.'), fromHere('../packages/client'), fromHere('../node_modules')] },
  },
  preview: { host: '127.0.0.1' },
  // Pre-bundle the client's dependencies up front, so the first page load does not discover them
  // and reload the page halfway through.
  optimizeDeps: { include: ['@stomp/stompjs'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Both pages: Vite builds index.html alone unless told, and the demo links to embed.html.
    rolldownOptions: { input: { main: fromHere('index.html'), embed: fromHere('embed.html') } },
  },
});
