// The project's broker scripts (scripts/broker.mjs) against the running project-local node.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { nodePid, nodeProfile, stopNode } from '../scripts/broker.mjs';

describe('broker scripts', () => {
  it('nodePid - finds the running node, and ignores a pid file whose number now belongs to another process', () => {
    expect(nodePid()).toBeGreaterThan(0); // the node the broker tests run on
    // A node that was killed leaves its pid file; the number may be reused, here by this very
    // process. Signalling it would stop or kill something that is not ours.
    const gone = nodeProfile(9);
    mkdirSync(gone.stateDir, { recursive: true });
    onTestFinished(() => rmSync(gone.stateDir, { recursive: true, force: true }));
    writeFileSync(gone.pidFile, String(process.pid));
    expect(nodePid(gone)).toBeUndefined();
    expect(() => stopNode(gone)).not.toThrow(); // "not running": nothing is signalled
  });
});
