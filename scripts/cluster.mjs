#!/usr/bin/env node
// A three-node RabbitMQ cluster on this machine, for `npm run broker:cluster` and the cluster tests.
//
//   node scripts/cluster.mjs start    start side nodes 1, 2 and 3 (scripts/broker.mjs), join them
//                                     into one cluster and import the replicated profile's
//                                     definitions; does only what is missing, so it is safe to rerun
//   node scripts/cluster.mjs stop     stop the three nodes (their data stays in .rabbitmq/node<k>/)
//   node scripts/cluster.mjs status
//   node scripts/cluster.mjs definitions   print the replicated profile's definitions (for a real cluster)
//
// Each member is a side node of scripts/broker.mjs (own name, ports +100*k, folder), sharing one
// Erlang cookie (.rabbitmq/cluster.cookie). The members start without definitions; once they form
// one cluster, rabbitmq-conf/definitions.json is imported with rabbitmq-conf/replicated-profile.json
// laid over it (rpc_queue as a quorum queue), so the quorum queue gets a member on every node.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureInstalled,
  launchNode,
  log,
  nodePid,
  nodeProfile,
  rabbitmqTool,
  runAsCommand,
  startIfStopped,
  stopNode,
  waitForNode,
  webStompAnswers,
  webStompUrl,
} from './broker.mjs';
import { withFileLock } from './file-lock.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const confDir = join(root, 'rabbitmq-conf');
const stateDir = join(root, '.rabbitmq');

/** The members, seed first. */
export const CLUSTER_NODES = [1, 2, 3].map((index) => nodeProfile(index));
const seed = CLUSTER_NODES[0];

/** Web-STOMP URLs of the members, in member order. */
export function clusterUrls() {
  return CLUSTER_NODES.map(webStompUrl);
}

/** Definitions of the replicated profile: the project's definitions with the overlay's entries replacing same-named ones. */
export function replicatedDefinitions() {
  const base = JSON.parse(readFileSync(join(confDir, 'definitions.json'), 'utf8'));
  const overlay = JSON.parse(readFileSync(join(confDir, 'replicated-profile.json'), 'utf8'));
  for (const [section, entries] of Object.entries(overlay)) {
    if (!Array.isArray(entries)) continue;
    const replaced = new Set(entries.map((entry) => `${entry.vhost}/${entry.name}`));
    base[section] = [
      ...(base[section] ?? []).filter((entry) => !replaced.has(`${entry.vhost}/${entry.name}`)),
      ...entries,
    ];
  }
  return base;
}

function shareCookie() {
  mkdirSync(stateDir, { recursive: true });
  const cookieFile = join(stateDir, 'cluster.cookie');
  // The cookie lets whoever reads it run code on the nodes: for this user's eyes only (chmod: the
  // mode given to writeFileSync applies to a new file, and earlier versions wrote it world-readable).
  if (!existsSync(cookieFile))
    writeFileSync(cookieFile, randomBytes(20).toString('hex').toUpperCase(), { mode: 0o600 });
  chmodSync(cookieFile, 0o600);
  const cookie = readFileSync(cookieFile, 'utf8');
  for (const node of CLUSTER_NODES) {
    mkdirSync(node.stateDir, { recursive: true });
    const nodeCookie = join(node.stateDir, '.erlang.cookie');
    if (existsSync(nodeCookie) && readFileSync(nodeCookie, 'utf8') === cookie) continue;
    if (nodePid(node) !== undefined) {
      throw new Error(
        `${node.name} runs with another Erlang cookie; stop it (STOMP_RPC_NODE=${node.index} npm run broker:stop)`,
      );
    }
    // Erlang makes the file read-only (0400) when it creates one; a mode given here applies only to
    // a new file, so the old one goes first.
    rmSync(nodeCookie, { force: true });
    writeFileSync(nodeCookie, cookie, { mode: 0o400 });
  }
}

/** The cluster as the seed sees it: { members, running } node names. */
export function clusterStatus() {
  const status = JSON.parse(rabbitmqTool(seed, 'rabbitmqctl', ['cluster_status', '--formatter', 'json']));
  return { members: status.disk_nodes ?? [], running: status.running_nodes ?? [] };
}

/**
 * Starts what is missing of the cluster and resolves once every member serves Web-STOMP, with the
 * members' URLs and the members this call launched (decided under the lock).
 */
export async function ensureCluster() {
  ensureInstalled();
  mkdirSync(stateDir, { recursive: true });
  // Two starts at once (`npm run broker:cluster` while the cluster tests start it) would launch the
  // same nodes twice and interleave their resets and joins. The holder's worst case: three boots,
  // two joins of four commands and a boot each, the import and the replicas grown, about 16 minutes.
  return withFileLock(join(stateDir, 'cluster.lock'), 20 * 60_000, startCluster, (pid) =>
    log(`waiting for process ${pid}, which is starting the cluster`),
  );
}

async function startCluster() {
  for (const node of CLUSTER_NODES) {
    if (nodePid(node) === undefined && (await webStompAnswers(webStompUrl(node)))) {
      throw new Error(
        `${webStompUrl(node)} answers, but not from this checkout's ${node.name}: stop that broker first`,
      );
    }
  }
  shareCookie();
  // Boot in parallel; members import nothing at boot.
  const launched = [];
  try {
    for (const node of CLUSTER_NODES) if (launchNode(node)) launched.push(node);
    return await formCluster(launched);
  } catch (error) {
    // Nobody would stop them: the caller learns which nodes it launched only from a start that worked.
    log(`the cluster did not form; stopping the nodes this start launched (logs in ${relative(root, stateDir)}/)`);
    try {
      await stopCluster(launched);
    } catch (stopError) {
      log(stopError.message);
    }
    throw error;
  }
}

/** Waits for every member, joins those that are not in the cluster yet, and imports the definitions. */
async function formCluster(launched) {
  for (const node of CLUSTER_NODES) {
    if (!launched.includes(node)) startIfStopped(node);
    await waitForNode(node);
  }
  for (const node of CLUSTER_NODES.slice(1)) {
    if (clusterStatus().members.includes(node.name)) continue;
    log(`joining ${node.name} to ${seed.name}`);
    for (const args of [['stop_app'], ['reset'], ['join_cluster', seed.name], ['start_app']]) {
      rabbitmqTool(node, 'rabbitmqctl', args);
    }
    await waitForNode(node);
  }
  const definitions = join(stateDir, 'cluster-definitions.json');
  writeFileSync(definitions, JSON.stringify(replicatedDefinitions(), null, 2));
  rabbitmqTool(seed, 'rabbitmqctl', ['import_definitions', definitions]);
  // A member reset and joined after rpc_queue was declared has no replica of it yet.
  for (const node of CLUSTER_NODES) rabbitmqTool(seed, 'rabbitmq-queues', ['grow', node.name, 'all']);
  const { running } = clusterStatus();
  if (running.length !== CLUSTER_NODES.length) throw new Error(`only ${running.join(', ')} run in the cluster`);
  log(`cluster ready: ${running.join(', ')}`);
  log(`STOMP_URL=${clusterUrls().join(',')}`);
  return { urls: clusterUrls(), launched };
}

/**
 * Stops the members that run (or those of `nodes`), side by side: a node takes about 10 s to stop
 * (RabbitMQ 3.10 spends 5 of them shutting down `rabbit`), and they start again side by side, each
 * waiting for the others. One that fails to stop does not keep the others running.
 */
export async function stopCluster(nodes = CLUSTER_NODES) {
  const results = await Promise.allSettled(nodes.map((node) => stopNode(node)));
  const failures = results.filter((result) => result.status === 'rejected').map((result) => result.reason.message);
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

/** SIGKILLs a member, as a crash would, and resolves once its process is gone. For the tests. */
export async function killNode(node) {
  const pid = nodePid(node);
  if (pid === undefined) throw new Error(`${node.name} is not running`);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && nodePid(node) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
}

/** Starts a member again after a kill; it rejoins the cluster from its own data. */
export async function restartNode(node) {
  launchNode(node);
  await waitForNode(node);
}

async function main(command) {
  switch (command) {
    case 'start':
      await ensureCluster();
      return 0;
    case 'stop':
      await stopCluster();
      return 0;
    case 'status': {
      for (const node of CLUSTER_NODES) {
        const pid = nodePid(node);
        log(`${node.name}: ${pid ? `pid ${pid}, Web-STOMP ${webStompUrl(node)}` : 'not running'}`);
      }
      if (nodePid(seed) === undefined) return 1;
      const { members, running } = clusterStatus();
      log(`members: ${members.join(', ')}; running: ${running.join(', ')}`);
      return running.length === CLUSTER_NODES.length ? 0 : 1;
    }
    case 'definitions':
      process.stdout.write(`${JSON.stringify(replicatedDefinitions(), null, 2)}\n`);
      return 0;
    default:
      process.stderr.write('usage: node scripts/cluster.mjs start|stop|status|definitions\n');
      return 2;
  }
}

runAsCommand(import.meta.url, main);
