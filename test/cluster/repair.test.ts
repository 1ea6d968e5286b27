// What `npm run broker:cluster` repairs when run again: a member whose VM runs with RabbitMQ
// stopped, as a join cut short between stop_app and start_app (a Ctrl-C) leaves it. The cluster is
// whole again afterwards, for the files after this one.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { rabbitmqTool } from '../../scripts/broker.mjs';
import { clusterStatus } from '../../scripts/cluster.mjs';
import { CLUSTER_NODES } from './cluster-support.js';

/** `npm run broker:cluster`, as an operator runs it again; its log (stderr). */
async function startClusterAgain(): Promise<string> {
  const script = new URL('../../scripts/cluster.mjs', import.meta.url).pathname;
  const { stderr } = await promisify(execFile)(process.execPath, [script, 'start'], { timeout: 240_000 });
  return stderr;
}

describe('cluster repair by a new start', () => {
  it('a member whose VM runs with RabbitMQ stopped (a join cut short) is started, not waited for in vain', async () => {
    const stopped = CLUSTER_NODES[1];
    if (!stopped) throw new Error('three members expected');
    rabbitmqTool(stopped, 'rabbitmqctl', ['stop_app']);
    onTestFinished(() => {
      // Whole again for the next files, whatever the outcome.
      if (!clusterStatus().running.includes(stopped.name)) rabbitmqTool(stopped, 'rabbitmqctl', ['start_app']);
    });
    const log = await startClusterAgain();
    expect(log).toContain(`${stopped.name} runs with RabbitMQ stopped`);
    expect(clusterStatus().running.sort()).toEqual(CLUSTER_NODES.map((node) => node.name).sort());
  }, 300_000);
});
