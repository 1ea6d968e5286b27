// The cluster forms in a process of its own while the tests before the cluster tests run: from
// fresh it takes about 40 s (three boots, two joins, the import), which the run no longer waits
// for up front. global-setup.ts runs form-cluster.mjs; the cluster tests wait for the outcome.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Written once by global-setup.ts from form-cluster.mjs's output: what it launched, or why it failed. */
export const FORMATION_RESULT = fileURLToPath(new URL('../../test-results/cluster-formation.json', import.meta.url));
export const FORM_CLUSTER = fileURLToPath(new URL('./form-cluster.mjs', import.meta.url));
/** Longer than a loaded machine's formation from fresh; shorter than a test run would wait. */
export const FORMATION_WAIT_MS = 5 * 60_000;

export type Formation = { launched: string[] } | { error: string };

export function readFormation(): Formation | undefined {
  return existsSync(FORMATION_RESULT) ? (JSON.parse(readFileSync(FORMATION_RESULT, 'utf8')) as Formation) : undefined;
}

/** Resolves once the cluster has formed; rejects with the reason it did not, or after the wait. */
export async function clusterFormed(): Promise<void> {
  const deadline = Date.now() + FORMATION_WAIT_MS;
  for (;;) {
    const formation = readFormation();
    if (formation && 'error' in formation) throw new Error(`the cluster did not form: ${formation.error}`);
    if (formation) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not form within ${FORMATION_WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
