#!/usr/bin/env node
// Makes a RabbitMQ broker with Web-STOMP available, for `npm start`, the tests and CI.
//
//   node scripts/broker.mjs start    use the broker at STOMP_URL if one answers; otherwise start a
//                                    project-local node from rabbitmq-conf/ (installing Debian's
//                                    rabbitmq-server first when missing and running as root)
//   node scripts/broker.mjs stop     stop the project-local node, and only that one
//   node scripts/broker.mjs status
//
// STOMP_RPC_NODE=k (1-9) selects a side node: its own name (stomprpc<k>@localhost), folder
// (.rabbitmq/node<k>/) and ports (every standard port + 100*k, e.g. Web-STOMP 15774 for k=1), so a
// second checkout or a cluster member can run beside the default node without touching it.
// STOMP_RPC_EXTRA_CONF names a file of rabbitmq.conf lines added to the node's configuration.
// STOMP_RPC_EXTRA_PLUGINS (comma-separated) enables more plugins on that node only, e.g. the OAuth 2.0
// backend in the tests: the node then gets its own enabled_plugins (rabbitmq-conf's plus these).
// scripts/cluster.mjs builds a three-node cluster from side nodes with the functions exported here.
//
// The local node keeps its data, logs, pid file and Erlang cookie under .rabbitmq/ (ignored by
// git), binds every listener to 127.0.0.1, and runs as the current user through
// /usr/lib/rabbitmq/bin (the /usr/sbin wrappers switch to the rabbitmq user, which cannot write
// to a root-owned checkout).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { withFileLock } from './file-lock.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const confDir = join(root, 'rabbitmq-conf');
const rabbitBin = '/usr/lib/rabbitmq/bin';
const startTimeoutSeconds = 90;
/** apt-get install or update: downloads and unpacks RabbitMQ and Erlang, minutes on a slow mirror. */
const aptTimeoutMs = 15 * 60_000;

/** Name, folder and ports of project-local node `index` (0: the default node). */
export function nodeProfile(index = Number(process.env.STOMP_RPC_NODE || 0)) {
  if (!Number.isInteger(index) || index < 0 || index > 9) throw new Error('STOMP_RPC_NODE must be 0 to 9');
  const offset = 100 * index;
  const stateDir = index === 0 ? join(root, '.rabbitmq') : join(root, '.rabbitmq', `node${index}`);
  return {
    index,
    name: index === 0 ? 'stomprpc@localhost' : `stomprpc${index}@localhost`,
    stateDir,
    pidFile: join(stateDir, 'node.pid'),
    ports: {
      amqp: 5672 + offset,
      stomp: 61613 + offset,
      webStomp: 15674 + offset,
      management: 15672 + offset,
      dist: 25672 + offset,
    },
  };
}

const profile = nodeProfile();

/** The Web-STOMP URL the project is configured for (the first of a comma-separated list). */
export function brokerUrl() {
  return brokerUrls()[0];
}

/** Every Web-STOMP URL of `STOMP_URL` (a comma-separated list: the nodes of a cluster), or the local node's. */
export function brokerUrls() {
  const given = (process.env.STOMP_URL || webStompUrl(profile)).split(',');
  const urls = given.map((url) => url.trim()).filter((url) => url !== ''); // a trailing comma, say
  if (urls.length === 0) throw new Error('STOMP_URL: no URL in it');
  for (const url of urls) {
    if (!URL.canParse(url) || !['ws:', 'wss:'].includes(new URL(url).protocol)) {
      throw new Error(`STOMP_URL: not a ws:// or wss:// URL: ${JSON.stringify(shownUrl(url))}`);
    }
  }
  return urls;
}

/**
 * `url` as the scripts show it and hand it to the demo page: without a user and password, which a
 * URL may carry (the programs send them as Basic auth). One with an '@' that does not parse, or
 * parses with no user (a password holding '/', '?' or '#' read as a host or path; no scheme),
 * loses everything up to its last '@'.
 */
export function shownUrl(url) {
  if (!url.includes('@')) return url;
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined || (parsed.username === '' && parsed.password === '')) {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1');
  }
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** The Web-STOMP URL of a project-local node. */
export function webStompUrl(node) {
  return `ws://127.0.0.1:${node.ports.webStomp}/ws`;
}

/** The AMQP URL of the broker (the tutorial's own programs speak AMQP). */
export function amqpUrl() {
  return process.env.AMQP_URL || `amqp://guest:guest@127.0.0.1:${profile.ports.amqp}`;
}

export function log(line) {
  process.stderr.write(`broker: ${line}\n`);
}

/** True when a Web-STOMP endpoint accepts a WebSocket with the STOMP subprotocol at `url`. */
export function webStompAnswers(url = brokerUrl(), timeoutMs = 2000) {
  return new Promise((done) => {
    const socket = new WebSocket(url, ['v12.stomp'], { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const finish = (ok) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      done(ok);
    };
    socket.once('open', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function nodeEnv(node) {
  return {
    ...process.env,
    HOME: node.stateDir, // holds the Erlang cookie shared by the node and rabbitmqctl
    RABBITMQ_NODENAME: node.name,
    RABBITMQ_CONFIG_FILE: join(node.stateDir, 'rabbitmq.conf'),
    // Nothing from a system broker's /etc/rabbitmq: its env file, conf.d or advanced.config could
    // move our listeners off loopback or onto its ports. These files do not exist, so none is read.
    RABBITMQ_CONF_ENV_FILE: join(node.stateDir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILES: join(node.stateDir, 'conf.d', '*.conf'), // a pattern, as its default is
    RABBITMQ_ADVANCED_CONFIG_FILE: join(node.stateDir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile(node),
    RABBITMQ_MNESIA_BASE: join(node.stateDir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(node.stateDir, 'log'),
    RABBITMQ_PID_FILE: node.pidFile,
    RABBITMQ_DIST_PORT: String(node.ports.dist),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    // rabbitmqctl and friends are Erlang nodes too, listening for distribution while they run.
    RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

/**
 * rabbitmq-conf/rabbitmq.conf with listeners on loopback at the node's ports and load_definitions
 * pointing at `definitions` (none: the line is dropped, as for cluster members, whose definitions
 * are imported once the cluster has formed).
 */
function writeLocalConfig(node, definitions) {
  const overrides = new Map([
    ['load_definitions', definitions],
    ['listeners.tcp.default', `127.0.0.1:${node.ports.amqp}`],
    ['stomp.listeners.tcp.1', `127.0.0.1:${node.ports.stomp}`],
    ['web_stomp.tcp.ip', '127.0.0.1'],
    ['web_stomp.tcp.port', String(node.ports.webStomp)],
    ['management.tcp.ip', '127.0.0.1'],
    ['management.tcp.port', String(node.ports.management)],
  ]);
  const lines = readFileSync(join(confDir, 'rabbitmq.conf'), 'utf8').split('\n');
  const seen = new Set();
  const out = [];
  for (const line of lines) {
    const key = /^\s*([\w.]+)\s*=/.exec(line)?.[1];
    if (key === undefined || !overrides.has(key)) {
      out.push(line);
      continue;
    }
    seen.add(key);
    if (overrides.get(key) !== undefined) out.push(`${key} = ${overrides.get(key)}`);
  }
  out.push('# Added by scripts/broker.mjs for the project-local node:');
  for (const [key, value] of overrides) if (!seen.has(key) && value !== undefined) out.push(`${key} = ${value}`);
  // More settings for this node only, e.g. a TLS listener in the tests.
  if (process.env.STOMP_RPC_EXTRA_CONF) out.push(readFileSync(process.env.STOMP_RPC_EXTRA_CONF, 'utf8'));
  writeFileSync(join(node.stateDir, 'rabbitmq.conf'), `${out.join('\n')}\n`);
}

/** The node's own enabled_plugins when it was started with extra plugins, else rabbitmq-conf's. */
function pluginsFile(node) {
  const own = join(node.stateDir, 'enabled_plugins');
  return existsSync(own) ? own : join(confDir, 'enabled_plugins');
}

/** Writes the node's own enabled_plugins for STOMP_RPC_EXTRA_PLUGINS, or removes a stale one. */
function writePluginsFile(node) {
  const own = join(node.stateDir, 'enabled_plugins');
  rmSync(own, { force: true });
  const extra = (process.env.STOMP_RPC_EXTRA_PLUGINS ?? '').split(',').map((name) => name.trim());
  if (extra.every((name) => name === '')) return;
  // rabbitmq-conf/enabled_plugins is one Erlang list of atoms: [a,b,c].
  const shared = /^\s*\[([\w\s,]*)\]\.\s*$/.exec(readFileSync(join(confDir, 'enabled_plugins'), 'utf8'));
  if (!shared || !extra.every((name) => /^\w*$/.test(name))) {
    throw new Error('STOMP_RPC_EXTRA_PLUGINS: plugin names are letters, digits and _, added to one [a,b]. list');
  }
  const names = [...(shared[1] ?? '').split(','), ...extra].map((name) => name.trim()).filter((name) => name !== '');
  writeFileSync(own, `[${[...new Set(names)].join(',')}].\n`);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
}

/** How a RabbitMQ command-line tool runs against a local node. */
function toolCall(node, tool, args, timeoutMs) {
  const options = { env: nodeEnv(node), cwd: node.stateDir, timeout: timeoutMs, encoding: 'utf8' };
  // cwd: where a VM that fails to boot writes erl_crash.dump.
  return { file: join(rabbitBin, tool), argv: ['-n', node.name, ...args], options };
}

const toolFailure = (node, tool, args, why, output) =>
  new Error(`${tool} ${args.join(' ')} failed on ${node.name}: ${why}\n${output}`);

/** Runs a RabbitMQ command-line tool (rabbitmqctl, rabbitmq-queues, ...) against a local node. */
export function rabbitmqTool(node, tool, args, timeoutMs = 60_000) {
  const { file, argv, options } = toolCall(node, tool, args, timeoutMs);
  const result = run(file, argv, options);
  if (result.status !== 0) {
    const why = result.error?.message ?? (result.signal ? `killed by ${result.signal}` : '');
    throw toolFailure(node, tool, args, why, result.stderr || result.stdout);
  }
  return result.stdout;
}

/** rabbitmqTool without blocking the event loop: a test's clients and servers live on meanwhile. */
function rabbitmqToolInBackground(node, tool, args, timeoutMs = 60_000) {
  const { file, argv, options } = toolCall(node, tool, args, timeoutMs);
  return new Promise((resolve, reject) => {
    execFile(file, argv, options, (error, stdout, stderr) => {
      if (error) reject(toolFailure(node, tool, args, error.message, stderr || stdout));
      else resolve(stdout);
    });
  });
}

export function ensureInstalled() {
  if (existsSync(join(rabbitBin, 'rabbitmq-server'))) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(
      "RabbitMQ is not installed. Install Debian's package first, and stop the service it starts, " +
        "which holds the ports this project's node needs: sudo apt-get install -y rabbitmq-server && " +
        'sudo systemctl disable --now rabbitmq-server epmd.socket epmd.service (the last two: an epmd on every ' +
        'interface, unless another Erlang program uses it; or point STOMP_URL at a running broker with the Web-STOMP plugin)',
    );
  }
  log("installing Debian's rabbitmq-server with apt-get");
  const epmdInUse = systemdUnitsInUse(EPMD_UNITS); // another Erlang program's, left as it is
  aptInstall('rabbitmq-server');
  stopSystemService(epmdInUse);
}

/**
 * Installs a Debian package with apt-get (as root), updating the package lists once if the first
 * try fails; throws when it cannot. Bounded, as every wait here: a stuck mirror or a held dpkg lock
 * fails the step instead of hanging it. A lock held by another install (a cluster start and a
 * broker start on a bare machine) is waited for, within that bound, rather than failing at once.
 */
export function aptInstall(packageName) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lockWait = ['-o', `DPkg::Lock::Timeout=${Math.floor(aptTimeoutMs / 2000)}`];
  // Its progress goes to stderr: a caller's stdout may carry a result (form-cluster.mjs's outcome).
  const aptGet = (args) =>
    run('apt-get', [...lockWait, ...args], { env, stdio: ['inherit', 2, 2], timeout: aptTimeoutMs });
  const install = () => aptGet(['install', '-y', '-q', packageName]);
  if (install().status !== 0) {
    aptGet(['update', '-q']);
    const result = install();
    if (result.status !== 0) {
      const reason = result.error ? `: ${result.error.message}` : ' (see above)';
      throw new Error(`apt-get install ${packageName} failed${reason}`);
    }
  }
}

const EPMD_UNITS = ['epmd.socket', 'epmd.service'];

/** Of `units`, those systemd runs or starts at boot now; none without systemd. */
function systemdUnitsInUse(units) {
  if (!existsSync('/run/systemd/system')) return [];
  const inUse = (unit) =>
    ['is-active', 'is-enabled'].some(
      (query) => run('systemctl', [query, '--quiet', unit], { timeout: 10_000 }).status === 0,
    );
  return units.filter(inUse);
}

/**
 * The units an install of rabbitmq-server started that the project's node does not want: the
 * broker's service always; Erlang's epmd only if it was neither enabled nor running before
 * (`epmdInUse`), since stopping it could cut off Erlang programs registered with it. Our node
 * uses a running epmd.
 */
export function unitsToStop(epmdInUse) {
  return ['rabbitmq-server', ...(epmdInUse.length > 0 ? [] : EPMD_UNITS)];
}

/**
 * On a machine run by systemd, Debian's package starts its own rabbitmq-server service, listening
 * on every interface at 5672 and 25672: the ports the project's node wants, on loopback. Erlang's
 * package adds an epmd socket on every interface at 4369. The project runs its own nodes, and its
 * first node starts an epmd on loopback, so what this install just started is stopped and disabled.
 */
function stopSystemService(epmdInUse) {
  if (!existsSync('/run/systemd/system')) return; // no systemd: the package started no service
  const units = unitsToStop(epmdInUse);
  if (epmdInUse.length > 0) log(`leaving ${epmdInUse.join(', ')} as they were: in use before this install`);
  const stopped = run('systemctl', ['disable', '--now', ...units], { timeout: 60_000 });
  if (stopped.status === 0) {
    log(`stopped and disabled ${units.join(', ')}, which the packages start; this project runs its own node`);
  } else {
    log(`could not stop ${units.join(', ')}: ${stopped.stderr || stopped.error?.message || ''}`);
  }
}

/** The operating-system pid of a running project-local node, or undefined. */
export function nodePid(node = profile) {
  const pid = pidInFile(node);
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale pid file from a node that is gone
  }
  return isNodeProcess(pid, node) ? pid : undefined;
}

/** The pid the node's pid file holds; undefined while there is none (or only part of one). */
function pidInFile(node) {
  if (!existsSync(node.pidFile)) return undefined;
  const pid = Number(readFileSync(node.pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * The pid whose CPU is the broker's for a run against `url` (the benches): the project-local node's
 * when `url` is its Web-STOMP URL, undefined for any other broker (STOMP_URL's), whose CPU we cannot read.
 */
export function measuredBrokerPid(url, node = nodeProfile()) {
  return url === webStompUrl(node) ? nodePid(node) : undefined;
}

/**
 * Whether `pid` is this node's Erlang VM: a pid file outlives a node that was killed, and its number
 * may since belong to another process, which must never be signalled. The VM runs with its node's
 * folder as `-home` (nodeEnv's HOME). Without /proc (not Linux), the pid file is trusted.
 */
function isNodeProcess(pid, node) {
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((arg) => arg.endsWith('/beam.smp')) && args[args.indexOf('-home') + 1] === node.stateDir;
  } catch {
    return false; // gone meanwhile
  }
}

async function waitForWebStomp(url, deadline) {
  while (Date.now() < deadline) {
    if (await webStompAnswers(url)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Starts a project-local node in the background unless it runs (a node frozen by a test that died
 * is thawed). `definitions`: the file it imports at boot, if any. Returns at once; see waitForNode.
 */
export function launchNode(node, definitions) {
  const frozen = nodePid(node);
  if (frozen !== undefined) {
    process.kill(frozen, 'SIGCONT');
    return false;
  }
  ensureInstalled();
  mkdirSync(join(node.stateDir, 'log'), { recursive: true });
  rmSync(node.pidFile, { force: true });
  writePluginsFile(node);
  writeLocalConfig(node, definitions);
  log(`starting RabbitMQ node ${node.name} (data and logs in ${relative(root, node.stateDir)}/)`);
  const started = run(join(rabbitBin, 'rabbitmq-server'), ['-detached'], {
    env: nodeEnv(node),
    cwd: node.stateDir,
    timeout: startTimeoutSeconds * 1000,
  });
  if (started.status !== 0) throw new Error(`rabbitmq-server failed to start:\n${started.stderr || started.stdout}`);
  return true;
}

/**
 * Resolves once the node's pid file holds a pid, false at `deadline`. rabbitmqctl wait only waits
 * for a missing pid file: one it reads as the starting node writes it (empty for a moment) makes it
 * give up at once, "garbage in pid file" (seen when the cluster tests restart a killed node).
 */
async function waitForPidFile(node, deadline) {
  while (Date.now() < deadline) {
    if (pidInFile(node) !== undefined) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Resolves once the node's RabbitMQ application runs and its Web-STOMP answers. */
export async function waitForNode(node) {
  const deadline = Date.now() + startTimeoutSeconds * 1000;
  const notStarted = (detail) =>
    new Error(
      `RabbitMQ did not start; see ${join(node.stateDir, 'log')}. A port it needs ` +
        `(${Object.values(node.ports).join(', ')}) may be held by another broker, such as the system's ` +
        `service (systemctl status rabbitmq-server)\n${detail}`,
    );
  if (!(await waitForPidFile(node, deadline))) throw notStarted(`no pid in ${node.pidFile}`);
  const leftSeconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  const waited = run(
    join(rabbitBin, 'rabbitmqctl'),
    ['-n', node.name, 'wait', node.pidFile, '--timeout', String(leftSeconds)],
    { env: nodeEnv(node), cwd: node.stateDir, timeout: leftSeconds * 1000 },
  );
  if (waited.status !== 0) throw notStarted(waited.stderr || waited.stdout);
  if (!(await waitForWebStomp(webStompUrl(node), deadline))) {
    throw new Error(`RabbitMQ ${node.name} started but Web-STOMP does not answer; see ${join(node.stateDir, 'log')}`);
  }
}

/**
 * Starts RabbitMQ on a node whose VM runs without it: a restart or a cluster join cut short between
 * `stop_app` and `start_app` (a Ctrl-C) leaves it so, and waitForNode would wait for it in vain,
 * then blame a port.
 */
export function startIfStopped(node) {
  let state;
  try {
    // Not rabbit:is_running(), which is false while it boots too. RabbitMQ 3.10 is `booting` before
    // its node can be reached at all (rabbit_prelaunch), so `stopped` means stop_app.
    state = rabbitmqTool(node, 'rabbitmqctl', ['eval', 'rabbit_boot_state:get().'], 15_000).trim();
  } catch {
    return; // not reachable: waitForNode says why
  }
  if (state !== 'stopped') return;
  log(`${node.name} runs with RabbitMQ stopped (a restart or join cut short?): starting it`);
  try {
    rabbitmqTool(node, 'rabbitmqctl', ['start_app']);
  } catch (error) {
    log(error.message); // booting already, say: waitForNode decides
  }
}

/**
 * Resolves once Web-STOMP answers at the configured URL, starting a local node if needed.
 * `foreign`: what answers on this checkout's node's port is another broker (another checkout's
 * node, a system service), with users and definitions of its own.
 */
export async function ensureBroker() {
  const urls = brokerUrls();
  const url = urls[0];
  const { hostname: host, port } = new URL(url);
  const local =
    urls.length === 1 && ['127.0.0.1', 'localhost'].includes(host) && port === String(profile.ports.webStomp);
  // A test run that died inside freezeLocalBroker() would leave the node stopped.
  const ours = nodePid();
  if (ours !== undefined) process.kill(ours, 'SIGCONT');
  if (urls.length > 1) {
    // A cluster's nodes: any one that answers will do, as the programs fail over to the next.
    const answering = await firstAnswering(urls);
    if (answering === undefined) {
      throw new Error(`no Web-STOMP broker answers at any of ${urls.map(shownUrl).join(', ')}`);
    }
    log(`Web-STOMP answers at ${shownUrl(answering)}`);
    return { url: answering, started: false, foreign: false };
  }
  if (await webStompAnswers(url)) {
    // Another broker on the node's port (the system's service, say) has users and queues of its own.
    const foreign = local && ours === undefined;
    log(
      `Web-STOMP answers at ${shownUrl(url)}${foreign ? "; not this checkout's node: its users and definitions may differ" : ''}`,
    );
    return { url, started: false, foreign };
  }
  if (!local) {
    throw new Error(
      `no Web-STOMP broker answers at ${shownUrl(url)}, and the local node would listen at ${webStompUrl(profile)}`,
    );
  }
  mkdirSync(profile.stateDir, { recursive: true });
  return withFileLock(
    join(profile.stateDir, 'start.lock'),
    // The holder's worst case: installing RabbitMQ (apt-get install, update, install), then booting
    // the node, waiting for it, and for Web-STOMP. Waiting on a live holder costs nothing.
    3 * aptTimeoutMs + 3 * startTimeoutSeconds * 1000,
    async () => {
      if (await webStompAnswers(url)) {
        log(`Web-STOMP answers at ${shownUrl(url)}`); // the process that held the lock started it
        return { url, started: false, foreign: false };
      }
      if (!launchNode(profile, join(confDir, 'definitions.json'))) {
        log(`node ${profile.name} is running; waiting for Web-STOMP`);
        startIfStopped(profile);
      }
      await waitForNode(profile);
      const { amqp, management } = profile.ports;
      log(
        `ready: Web-STOMP at ${shownUrl(url)}, AMQP at amqp://127.0.0.1:${amqp}, management at http://127.0.0.1:${management}`,
      );
      return { url, started: true, foreign: false };
    },
    (pid) => log(`process ${pid} is starting node ${profile.name}; waiting for it`),
  );
}

/**
 * For the tests: they need this checkout's users, permissions and policies, and some restart or
 * freeze the node; another checkout's node would serve another commit's (and could be stopped
 * from there mid-run).
 */
export function requireOwnBroker({ url, foreign }) {
  if (!foreign) return;
  throw new Error(
    `Web-STOMP at ${shownUrl(url)} is not this checkout's node (another checkout's, or a system broker), ` +
      "and the tests need this checkout's: stop that one (npm run broker:stop, in the checkout it belongs to) and run them again",
  );
}

async function firstAnswering(urls) {
  for (const url of urls) if (await webStompAnswers(url)) return url;
  return undefined;
}

/** Stops a project-local node if it runs; never touches any other broker. */
export async function stopNode(node = profile) {
  const pid = nodePid(node);
  if (pid === undefined) {
    log(`project-local RabbitMQ node ${node.name} is not running`);
    return;
  }
  log(`stopping node ${node.name}`);
  process.kill(pid, 'SIGCONT'); // a node a test left frozen could not answer the stop
  await rabbitmqToolInBackground(node, 'rabbitmqctl', ['stop', node.pidFile]);
  log(`stopped ${node.name}`);
}

/**
 * Restarts RabbitMQ inside the project-local node (stop_app, start_app): every connection drops
 * and transient queues vanish, as in a broker restart. The caller's clients see it as it happens
 * (the event loop runs on). For the tests; refuses any other broker.
 */
export async function restartLocalBroker() {
  if (nodePid() === undefined) {
    throw new Error(`the broker at ${shownUrl(brokerUrl())} is not the project-local node, which this restart needs`);
  }
  for (const step of ['stop_app', 'start_app']) await rabbitmqToolInBackground(profile, 'rabbitmqctl', [step]);
  if (!(await waitForWebStomp(brokerUrl(), Date.now() + startTimeoutSeconds * 1000))) {
    throw new Error('Web-STOMP did not come back after the restart');
  }
}

/**
 * Freezes the project-local node (SIGSTOP) for `ms`, then lets it run again (SIGCONT): a broker
 * that goes silent without closing anything. For the tests; refuses any other broker.
 */
export async function freezeLocalBroker(ms) {
  const pid = nodePid();
  if (pid === undefined) {
    throw new Error(`the broker at ${shownUrl(brokerUrl())} is not the project-local node, which this test freezes`);
  }
  process.kill(pid, 'SIGSTOP');
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

async function main(command) {
  switch (command) {
    case 'start':
      await ensureBroker();
      return 0;
    case 'stop':
      await stopNode();
      return 0;
    case 'status': {
      const pid = nodePid();
      const urls = brokerUrls();
      const answering = await firstAnswering(urls);
      const answers = answering !== undefined;
      log(
        answers ? `Web-STOMP answers at ${shownUrl(answering)}` : `nothing answers at ${urls.map(shownUrl).join(', ')}`,
      );
      log(pid ? `project-local node ${profile.name} runs as pid ${pid}` : 'no project-local node runs');
      return answers ? 0 : 1;
    }
    default:
      process.stderr.write('usage: node scripts/broker.mjs start|stop|status\n');
      return 2;
  }
}

function realPath(path) {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Runs `main(command)` when the module at `moduleUrl` is the program node was started with. */
export function runAsCommand(moduleUrl, main) {
  // Node runs a module by its real path, so the path it was started with (a symlink, say) is resolved too.
  if (moduleUrl !== pathToFileURL(realPath(process.argv[1] ?? '')).href) return;
  main(process.argv[2]).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      log(error.message);
      process.exitCode = 1;
    },
  );
}

runAsCommand(import.meta.url, main);
