// The project's broker scripts (scripts/broker.mjs) against the running project-local node.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { nodePid, nodeProfile, stopNode } from '../scripts/broker.mjs';

describe('broker scripts', () => {
  it('nodePid - finds the running node, and ignores a pid file whose number now belongs to another process', () => {
    expect(nodePid()).toBeGreaterThan(0); // the node the broker tests run on
    // A node that was killed leaves its pid file; the number may be reused, here by this very
    // process. Signalling it would stop or kill something that is not ours.
    // A made-up node in a folder of its own: no real node's files are touched.
    const stateDir = mkdtempSync(join(tmpdir(), 'stomp-rpc-node-'));
    onTestFinished(() => rmSync(stateDir, { recursive: true, force: true }));
    const gone = { ...nodeProfile(9), stateDir, pidFile: join(stateDir, 'node.pid') };
    writeFileSync(gone.pidFile, String(process.pid));
    expect(nodePid(gone)).toBeUndefined();
    expect(() => stopNode(gone)).not.toThrow(); // "not running": nothing is signalled
  });
});
