// Runs once before any test: starts forming the three-node cluster of `npm run broker:cluster`
// (what is missing of it) in the background, and stops what it started after the last test. The
// cluster tests wait for the outcome (cluster-ready.ts) and fail if it did not form.
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CLUSTER_NODES, stopCluster } from '../../scripts/cluster.mjs';
import { buildForTests } from '../build-for-tests.js';
import { FORM_CLUSTER, FORMATION_RESULT, type Formation } from './formation.js';

/** Whole or not at all (a rename), so that a test never reads half of it. */
function record(formation: Formation): void {
  mkdirSync(dirname(FORMATION_RESULT), { recursive: true });
  writeFileSync(`${FORMATION_RESULT}.partial`, JSON.stringify(formation));
  renameSync(`${FORMATION_RESULT}.partial`, FORMATION_RESULT);
}

/** The outcome is the child's last line of stdout (anything a tool printed before it is not). */
function outcome(stdout: string, exit: string): Formation {
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Formation;
  } catch {
    return { error: `form-cluster.mjs ${exit} without an outcome` };
  }
}

export default function setup(): () => Promise<void> {
  buildForTests(); // the tests fork the built command lines
  rmSync(FORMATION_RESULT, { force: true }); // an earlier run's
  const child = spawn(process.execPath, [FORM_CLUSTER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  const formed = new Promise<Formation>((resolve) => {
    child.once('close', (code, signal) => resolve(outcome(stdout, `exited (${signal ?? code})`)));
    child.once('error', (error) => resolve({ error: `form-cluster.mjs did not run: ${error.message}` }));
  }).then((formation) => {
    record(formation);
    return formation;
  });
  return async () => {
    const formation = await formed;
    // The members an operator had running keep running; a formation that failed stopped its own.
    if ('launched' in formation) {
      await stopCluster(CLUSTER_NODES.filter((node) => formation.launched.includes(node.name)));
    }
  };
}
