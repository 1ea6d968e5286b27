/*
 * What a stranger does with the packages, end to end, with no broker:
 *
 * 1. Pack both workspaces from a fresh copy of the repository: the files git would commit, no
 *    dist/ and no tsbuildinfo, the repository's node_modules linked in. So each package's prepack
 *    script must build it; a missing or broken one gives a tarball without dist/ and fails here.
 * 2. Install the two tarballs together (npm then takes the server's @stomp-rpc/client from the
 *    local tarball, not the registry) and @types/node into a scratch project in a temp folder.
 * 3. Import both packages from ESM Node, run both commands, load the script-tag build.
 * 4. Type-check a consumer and every TypeScript sample of the READMEs under strict, with nodenext,
 *    bundler and node10 resolution (no skipLibCheck: the published .d.ts files are checked too).
 * 5. Build a Vite app that calls the client and report its gzipped size.
 *
 * The repository's TypeScript and Vite do the checking and the building; the scratch project
 * holds only what a consumer installs. Every subprocess has a timeout.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tscBin = join(repoRoot, 'node_modules/typescript/bin/tsc');
const viteBin = join(repoRoot, 'node_modules/vite/bin/vite.js');
const installedVersion = (name: string): string =>
  JSON.parse(readFileSync(join(repoRoot, `node_modules/${name}/package.json`), 'utf8')).version;
const typesNodeVersion = installedVersion('@types/node');
/** The README's services sample validates with valibot, as a consumer would with any Standard Schema library. */
const valibotVersion = installedVersion('valibot');

/**
 * How much larger, gzipped, the JavaScript of an app using the client may be than the package's
 * script-tag build of the whole client (the same today, within 1%): more means the bundler took in
 * something the page build leaves out (a Node module's shim, a second copy of a dependency). The
 * size itself is a target in BENCHMARKS.md, not a bound here.
 */
const MAX_APP_OVER_SCRIPT_TAG = 1.1;

const PACKAGES = [
  { name: '@stomp-rpc/client', dir: 'packages/client' },
  { name: '@stomp-rpc/server', dir: 'packages/server' },
] as const;

interface PackResult {
  name: string;
  filename: string;
  entryCount: number;
  files: { path: string }[];
}

interface Manifest {
  main?: string;
  types?: string;
  unpkg?: string;
  jsdelivr?: string;
  bin?: Record<string, string>;
  exports?: unknown;
  imports?: unknown;
  typesVersions?: Record<string, Record<string, string[]>>;
  dependencies?: Record<string, string>;
}

/**
 * What an enclosing `npm test` or `npx` sets about its own command (its package, script, folder,
 * --ignore-scripts, --dry-run, -w): not for a nested npm. The user's npm configuration in
 * npm_config_* (registry, proxy, cache, certificates) is passed on.
 */
const PARENT_COMMAND_VARIABLES =
  /^npm_(package_|lifecycle_|command$|config_(local_prefix|call|ignore_scripts|dry_run|workspaces?|include_workspace_root)$)/i;

/** Runs a program with a timeout; rejects with its output. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number },
): Promise<{ stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !PARENT_COMMAND_VARIABLES.test(key)));
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const how = error.killed ? `killed after ${options.timeoutMs} ms` : `exit code ${String(error.code)}`;
        const output = `${stdout}\n${stderr}`.trim().slice(-8000);
        reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}): ${how}\n${output}`));
      },
    );
  });
}

/** Every file path a manifest points at: entry points, types, commands, the CDN field. */
function manifestTargets(manifest: Manifest): string[] {
  const targets: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (Array.isArray(value)) for (const item of value) collect(item);
    else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) collect(item);
  };
  collect([manifest.main, manifest.types, manifest.unpkg, manifest.jsdelivr, manifest.bin]);
  collect([manifest.exports, manifest.imports, manifest.typesVersions]);
  return targets.map((target) => posix.normalize(target));
}

/**
 * The packages a built ES module imports: `from '…'`, `import '…'` and `import('…')` specifiers
 * that are neither relative, `node:` built-ins nor the package's own `#` imports.
 */
function bareImports(code: string): string[] {
  const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map(
    (match) => match[1] ?? '',
  );
  return specifiers.filter((specifier) => !/^(\.|\/|node:|#)/.test(specifier));
}

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The ```ts blocks of a Markdown file. A block with no import continues the previous block's imports. */
function typeScriptSamples(markdown: string): string[] {
  const samples: string[] = [];
  let imports = '';
  for (const match of markdown.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)) {
    const code = match[1] ?? '';
    const ownImports = code
      .split('\n')
      .filter((line) => /^import\s/.test(line))
      .join('\n');
    if (ownImports !== '') imports = ownImports;
    samples.push(ownImports === '' && imports !== '' ? `${imports}\n${code}` : code);
  }
  return samples;
}

/** Type-checks a consumer: every TypeScript sample of the READMEs and one file using both packages. */
const CONSUMER = `import {
  defineService,
  type ErrorCode,
  FibonacciRpcClient,
  type FibonacciResult,
  type FibonacciRange,
  isRpcError,
  procedure,
  RpcClient,
} from '@stomp-rpc/client';
import { decodeValue, Header } from '@stomp-rpc/client/protocol';
import { fibonacciHandler, RpcError, RpcServer, WorkerPool } from '@stomp-rpc/server';

export async function fibonacciOf(n: number): Promise<bigint> {
  const client = new FibonacciRpcClient({ url: 'ws://127.0.0.1:15674/ws', timeoutMs: 1_000 });
  try {
    const result: FibonacciResult = await client.callDetailed(n);
    return result.value;
  } catch (error) {
    if (isRpcError(error)) {
      const code: ErrorCode = error.code;
      throw new Error(code, { cause: error });
    }
    throw error;
  } finally {
    await client.close();
  }
}

export const rpc = new RpcClient({ url: ['ws://a.example/ws', 'ws://b.example/ws'] });
export const header: string = Header.correlationId;
export const value: bigint = decodeValue('5', 5);

export const echo = new RpcServer({
  url: 'ws://127.0.0.1:15674/ws',
  queue: 'echo_queue',
  handler: ({ body }) => {
    if (body === '') throw new RpcError('INVALID_ARGUMENT', 'empty request');
    return body;
  },
});
export const fibonacciServer = new RpcServer({ handler: fibonacciHandler({ pool: new WorkerPool() }) });

// Options passed on as they came, \`undefined\` included: accepted under exactOptionalPropertyTypes too.
export async function callWithin(timeoutMs: number | undefined, signal?: AbortSignal): Promise<bigint> {
  const client = new FibonacciRpcClient({ url: 'ws://127.0.0.1:15674/ws', timeoutMs, presence: undefined });
  try {
    return await client.call(30, { timeoutMs, signal, idempotent: undefined });
  } finally {
    await client.close();
  }
}
export function declaredAs(durable: boolean | undefined, pauseMs: number | undefined): FibonacciRange {
  void new FibonacciRpcClient({ queueDeclaration: { durable, arguments: undefined } });
  void defineService({ queue: 'q', queueDeclaration: undefined, defaultProcedure: undefined, procedures: { p: procedure({ input: (value: unknown) => String(value) }) } });
  return { from: 1, to: 2, pauseMs };
}

// The types are the package's own, not any: a code outside the closed set does not compile.
// @ts-expect-error: 'NOT_A_CODE' is not an ErrorCode
export const wrong = new RpcError('NOT_A_CODE', 'no such code');
`;

const RESOLUTIONS = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'] },
  bundler: { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'] },
  // esModuleInterop: the default of `tsc --init`; pino's types need it under node10.
  node10: { module: 'esnext', moduleResolution: 'node10', lib: ['ES2022', 'DOM'], esModuleInterop: true },
} as const;

const SMOKE = `import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import * as client from '@stomp-rpc/client';
import * as protocol from '@stomp-rpc/client/protocol';
import * as server from '@stomp-rpc/server';

// A call to a port nothing listens on: the Node build must find its WebSocket (ws) by itself.
const unreachable = new client.FibonacciRpcClient({ url: 'ws://127.0.0.1:9/ws', timeoutMs: 300 });
let callError;
try {
  await unreachable.call(10);
} catch (error) {
  callError = error;
} finally {
  await unreachable.close();
}

// The script-tag build, exported as ./browser: one global, StompRpc.
const scriptPath = fileURLToPath(import.meta.resolve('@stomp-rpc/client/browser'));
const page = { TextEncoder, TextDecoder, setTimeout, clearTimeout, setInterval, clearInterval, crypto };
vm.runInNewContext(readFileSync(scriptPath, 'utf8'), page);

console.log(JSON.stringify({
  clientExports: Object.keys(client).sort(),
  protocolExports: Object.keys(protocol).sort(),
  serverExports: Object.keys(server).sort(),
  oneRpcError: server.RpcError === client.RpcError,
  serverErrorRecognised: client.isRpcError(new server.RpcError('TIMEOUT', 'made by the server package')),
  callErrorCode: client.isRpcError(callError) ? callError.code : String(callError),
  callErrorMessage: String(callError?.message),
  scriptPath: scriptPath.slice(scriptPath.indexOf('node_modules/')),
  scriptGlobal: Object.keys(page.StompRpc ?? {}).sort(),
}));
`;

const APP_HTML = `<!doctype html>
<html lang="en">
  <body>
    <output>…</output>
    <script type="module" src="/main.ts"></script>
  </body>
</html>
`;

const APP_MAIN = `import { FibonacciRpcClient, isRpcError } from '@stomp-rpc/client';

const output = document.querySelector('output');
const client = new FibonacciRpcClient({ url: 'ws://127.0.0.1:15674/ws', login: 'rpc-browser', passcode: 'rpc-browser' });
client.call(30).then(
  (value) => { if (output) output.textContent = String(value); },
  (error) => { if (output) output.textContent = isRpcError(error) ? error.code : String(error); },
);
`;

describe('packaging', () => {
  let scratch = '';
  const packed = new Map<string, PackResult>();
  /** Per package: its unpacked tarball (the folder holding package.json). */
  const unpacked = new Map<string, string>();
  let app = '';

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'stomp-rpc-packaging-'));

    // 1. A fresh copy: what git would commit (tracked and new files, nothing ignored).
    const clone = join(scratch, 'clone');
    const { stdout: listing } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: repoRoot,
      timeoutMs: 30_000,
    });
    for (const path of listing.split('\0')) {
      if (path === '' || !existsSync(join(repoRoot, path))) continue; // deleted, not yet committed
      mkdirSync(dirname(join(clone, path)), { recursive: true });
      cpSync(join(repoRoot, path), join(clone, path));
    }
    // Installed tools from the repository; the workspace links point into the copy.
    mkdirSync(join(clone, 'node_modules/@stomp-rpc'), { recursive: true });
    for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
      if (entry === '@stomp-rpc' || (entry.startsWith('.') && entry !== '.bin')) continue;
      symlinkSync(join(repoRoot, 'node_modules', entry), join(clone, 'node_modules', entry));
    }
    for (const { name, dir } of PACKAGES) symlinkSync(join('../..', dir), join(clone, 'node_modules', name));

    const tarballs = join(scratch, 'tarballs');
    mkdirSync(tarballs);
    const workspaces = PACKAGES.flatMap(({ dir }) => ['-w', dir]);
    const { stdout: packJson } = await run(
      'npm',
      ['pack', ...workspaces, '--pack-destination', tarballs, '--json', '--no-audit', '--no-fund'],
      { cwd: clone, timeoutMs: 240_000 },
    );
    for (const result of JSON.parse(packJson) as PackResult[]) {
      packed.set(result.name, result);
      const into = join(scratch, 'unpacked', result.name);
      mkdirSync(into, { recursive: true });
      await run('tar', ['-xzf', join(tarballs, result.filename), '-C', into], { cwd: scratch, timeoutMs: 30_000 });
      unpacked.set(result.name, join(into, 'package'));
    }

    // 2. A scratch project with both tarballs installed in one go.
    app = join(scratch, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'scratch', private: true, type: 'module' })}\n`);
    const tarballPaths = [...packed.values()].map((result) => join(tarballs, result.filename));
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...tarballPaths,
        `@types/node@${typesNodeVersion}`,
        `valibot@${valibotVersion}`,
      ],
      { cwd: app, timeoutMs: 180_000 },
    );
  });

  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it.each(PACKAGES)('pack - $name holds LICENSE, README, its manifest and a built dist, no tests', ({ name }) => {
    const files = packed.get(name)?.files.map((file) => file.path) ?? [];
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js']));
    expect(files).toContain('dist/index.d.ts');
    expect(files.filter((path) => /\.test\.ts$|tsbuildinfo$|(^|\/)tsconfig|vite\.config/.test(path))).toEqual([]);
  });

  it.each(PACKAGES)('pack - every file the manifest of $name points at is in the tarball', ({ name }) => {
    const files = new Set(packed.get(name)?.files.map((file) => file.path));
    const manifest = JSON.parse(readFileSync(join(unpacked.get(name) ?? '', 'package.json'), 'utf8')) as Manifest;
    const targets = manifestTargets(manifest);
    expect(targets.length).toBeGreaterThan(3);
    expect(targets.filter((target) => !files.has(target))).toEqual([]);
    // npm publish rewrites a bin path not in normal form ("./dist/cli.js") and warns about it.
    const bins = Object.values(manifest.bin ?? {});
    expect(bins).toEqual(bins.map((bin) => posix.normalize(bin)));
  });

  it('pack - the client ships its script-tag build, with the license notice of the Apache-2.0 code it bundles', () => {
    const files = packed.get('@stomp-rpc/client')?.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/browser/stomp-rpc.iife.js',
        'dist/browser/stomp-rpc.iife.js.map',
        'THIRD-PARTY-NOTICES',
      ]),
    );
    const client = unpacked.get('@stomp-rpc/client') ?? '';
    const script = readFileSync(join(client, 'dist/browser/stomp-rpc.iife.js'), 'utf8');
    expect(script).toMatch(/^\/\*! .*@stomp\/stompjs.*Apache-2\.0: see THIRD-PARTY-NOTICES \*\/\n/);
    const notices = readFileSync(join(client, 'THIRD-PARTY-NOTICES'), 'utf8');
    expect(notices).toContain('Apache License');
    expect(notices).toContain('Version 2.0, January 2004');
  });

  // Regression: rpc-server.d.ts took StompConnectionOptions from @stomp-rpc/client/internal, which
  // may change in any release: the server's public types must rest on the client's public ones.
  it("pack - the server's declarations name nothing from the client's internal entry", () => {
    const files = packed.get('@stomp-rpc/server')?.files.map((file) => file.path) ?? [];
    const declarations = files.filter((path) => path.endsWith('.d.ts'));
    expect(declarations.length).toBeGreaterThan(5);
    const server = unpacked.get('@stomp-rpc/server') ?? '';
    const internal = declarations.filter((path) =>
      readFileSync(join(server, path), 'utf8').includes('@stomp-rpc/client/internal'),
    );
    expect(internal).toEqual([]);
  });

  // Regression: RpcError declared a field keyed by a `unique symbol`, which every copy of the
  // package declares anew: TypeScript refused one copy's RpcError where another's was expected.
  it('pack - RpcError is declared without a unique symbol, so copies of the package declare one type', () => {
    const declaration = readFileSync(join(unpacked.get('@stomp-rpc/client') ?? '', 'dist/errors.d.ts'), 'utf8');
    expect(declaration).toMatch(/export declare class RpcError extends Error/);
    expect(declaration).not.toMatch(/unique symbol/);
  });

  it.each(PACKAGES)(
    'pack - every .js and .d.ts of $name has a source map whose sources are in the tarball',
    ({ name }) => {
      const root = unpacked.get(name) ?? '';
      const files = new Set(packed.get(name)?.files.map((file) => file.path));
      const broken: string[] = [];
      let maps = 0;
      for (const file of files) {
        if (!file.startsWith('dist/') || !/\.(js|d\.ts)$/.test(file)) continue;
        const mapUrl = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(root, file), 'utf8'))?.[1];
        const mapPath = mapUrl === undefined ? undefined : posix.join(posix.dirname(file), mapUrl);
        if (mapPath === undefined || !files.has(mapPath)) {
          broken.push(`${file}: map ${mapUrl ?? '(none)'} not in the tarball`);
          continue;
        }
        maps += 1;
        const map = JSON.parse(readFileSync(join(root, mapPath), 'utf8')) as {
          sourceRoot?: string;
          sources: string[];
          sourcesContent?: (string | null)[];
        };
        map.sources.forEach((source, index) => {
          const resolved = posix.join(posix.dirname(mapPath), map.sourceRoot ?? '', source);
          if (!files.has(resolved) && typeof map.sourcesContent?.[index] !== 'string') {
            broken.push(`${mapPath}: source ${source} is neither in the tarball nor embedded`);
          }
        });
      }
      expect(broken).toEqual([]);
      expect(maps).toBeGreaterThan(10);
    },
  );

  it.each(PACKAGES)('pack - $name depends on exactly the packages its built code imports', ({ name }) => {
    const root = unpacked.get(name) ?? '';
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
    const files = packed.get(name)?.files.map((file) => file.path) ?? [];
    const imported = new Set<string>();
    for (const file of files) {
      if (!file.startsWith('dist/') || !file.endsWith('.js')) continue;
      for (const specifier of bareImports(readFileSync(join(root, file), 'utf8'))) imported.add(packageOf(specifier));
    }
    // A dependency nothing imports is installed for nothing; an import not declared fails at run time.
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual([...imported].sort());
    expect(imported.size).toBeGreaterThan(0);
  });

  it('install - ESM Node imports both packages, finds ws and loads the script-tag build', async () => {
    writeFileSync(join(app, 'smoke.mjs'), SMOKE);
    const { stdout } = await run(process.execPath, ['smoke.mjs'], { cwd: app, timeoutMs: 30_000 });
    const smoke = JSON.parse(stdout);
    // The import itself would fail without ws, which the client's Node build imports.
    expect(smoke.clientExports).toEqual(
      expect.arrayContaining(['ERROR_CODES', 'FibonacciRpcClient', 'RpcClient', 'RpcError', 'isRpcError']),
    );
    expect(smoke.protocolExports).toEqual(expect.arrayContaining(['Header', 'decodeN', 'encodeN']));
    expect(smoke.serverExports).toEqual(
      expect.arrayContaining(['RpcError', 'RpcServer', 'ServerMetrics', 'WorkerPool', 'fibonacciHandler']),
    );
    expect(smoke.oneRpcError).toBe(true);
    expect(smoke.serverErrorRecognised).toBe(true);
    // The deadline passes while the client retries; the reason it gives is ws's own refusal.
    expect(smoke.callErrorCode).toBe('TIMEOUT');
    expect(smoke.callErrorMessage).toMatch(/ECONNREFUSED/);
    expect(smoke.scriptPath).toBe('node_modules/@stomp-rpc/client/dist/browser/stomp-rpc.iife.js');
    // The script-tag build has the whole API but the helpers that read Node's environment.
    const nodeOnly = ['ENVIRONMENT', 'optionsFromEnvironment'];
    expect(smoke.clientExports).toEqual(expect.arrayContaining(nodeOnly));
    expect(smoke.scriptGlobal).toEqual(smoke.clientExports.filter((name: string) => !nodeOnly.includes(name)));
  });

  it.each(PACKAGES)('install - the command of $name answers --help', async ({ name }) => {
    const bin = name === '@stomp-rpc/client' ? 'stomp-rpc-client' : 'stomp-rpc-server';
    const { stdout } = await run(join(app, 'node_modules/.bin', bin), ['--help'], { cwd: app, timeoutMs: 30_000 });
    expect(stdout).toMatch(/--url/);
  });

  it.each(Object.keys(RESOLUTIONS) as (keyof typeof RESOLUTIONS)[])(
    'types - a strict consumer and the README samples type-check with %s resolution',
    async (resolution) => {
      const sources = join(app, 'src');
      mkdirSync(sources, { recursive: true });
      writeFileSync(join(sources, 'consumer.ts'), CONSUMER);
      const readmes = { root: 'README.md', client: 'packages/client/README.md', server: 'packages/server/README.md' };
      let samples = 0;
      for (const [label, path] of Object.entries(readmes)) {
        typeScriptSamples(readFileSync(join(repoRoot, path), 'utf8')).forEach((code, index) => {
          writeFileSync(join(sources, `readme-${label}-${index + 1}.ts`), code);
          samples += 1;
        });
      }
      expect(samples).toBeGreaterThanOrEqual(5);
      const config = `tsconfig.${resolution}.json`;
      const compilerOptions = {
        ...RESOLUTIONS[resolution],
        target: 'ES2022',
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        moduleDetection: 'force',
        noEmit: true,
        // Our .d.ts files and @types/node are checked; TypeScript's own lib files (DOM) are not:
        // checking them takes most of the time and tells nothing about the packages.
        skipLibCheck: false,
        skipDefaultLibCheck: true,
      };
      writeFileSync(join(app, config), JSON.stringify({ compilerOptions, include: ['src'] }, null, 2));
      await run(process.execPath, [tscBin, '-p', config], { cwd: app, timeoutMs: 90_000 });
    },
  );

  it('vite - an app using the client builds for the browser, without ws', async () => {
    const web = join(app, 'web');
    mkdirSync(web, { recursive: true });
    writeFileSync(join(web, 'index.html'), APP_HTML);
    writeFileSync(join(web, 'main.ts'), APP_MAIN);
    const { stdout, stderr } = await run(process.execPath, [viteBin, 'build', '--outDir', 'dist', '--emptyOutDir'], {
      cwd: web,
      timeoutMs: 90_000,
    });
    expect(`${stdout}\n${stderr}`).not.toMatch(/externalized for browser compatibility/);
    const assets = join(web, 'dist/assets');
    const scripts = readdirSync(assets).filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    const bundle = Buffer.concat(scripts.map((file) => readFileSync(join(assets, file))));
    expect(bundle.toString('utf8')).not.toMatch(/__vite-browser-external|from\s*["']ws["']/);
    const gzipBytes = gzipSync(bundle, { level: 9 }).length;
    const scriptTag = readFileSync(join(app, 'node_modules/@stomp-rpc/client/dist/browser/stomp-rpc.iife.js'));
    const scriptTagGzipBytes = gzipSync(scriptTag, { level: 9 }).length;
    console.log(
      `packaging - Vite app with @stomp-rpc/client: ${bundle.length} bytes minified, ${gzipBytes} bytes gzipped; the script-tag build ${scriptTagGzipBytes}`,
    );
    expect(gzipBytes).toBeLessThan(scriptTagGzipBytes * MAX_APP_OVER_SCRIPT_TAG);
  });
});
