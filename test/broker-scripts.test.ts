// The project's broker scripts (scripts/broker.mjs) against the running project-local node.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { nodePid, nodeProfile, stopNode } from '../scripts/broker.mjs';
import { withFileLock } from '../scripts/file-lock.mjs';
import { spawnChild } from './support.js';

/** A folder of the test's own, removed after it. */
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stomp-rpc-lock-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

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

  it('withFileLock - two processes that start at once take turns: the second enters after the first left', async () => {
    const dir = scratchDir();
    const lock = join(dir, 'start.lock');
    const trace = join(dir, 'trace');
    const holder = `
      import { appendFileSync } from 'node:fs';
      import { withFileLock } from ${JSON.stringify(new URL('../scripts/file-lock.mjs', import.meta.url).href)};
      await withFileLock(${JSON.stringify(lock)}, 10_000, async () => {
        appendFileSync(${JSON.stringify(trace)}, 'in ' + process.pid + '\\n');
        await new Promise((resolve) => setTimeout(resolve, 300));
        appendFileSync(${JSON.stringify(trace)}, 'out ' + process.pid + '\\n');
      });`;
    const children = [0, 1].map(() => spawnChild(process.execPath, ['--input-type=module', '-e', holder]));
    expect(await Promise.all(children.map((child) => child.exited()))).toEqual([0, 0]);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    const [first, second] = [lines[0]?.split(' ')[1], lines[2]?.split(' ')[1]];
    expect(first).not.toBe(second);
    expect(lines).toEqual([`in ${first}`, `out ${first}`, `in ${second}`, `out ${second}`]);
    expect(() => readFileSync(lock)).toThrow(); // released
  });

  it('withFileLock - takes over the lock of a holder that died, and gives up on a live one after its timeout', async () => {
    const dir = scratchDir();
    const lock = join(dir, 'start.lock');
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number; // exited: its pid names nobody of ours
    writeFileSync(lock, String(dead));
    expect(await withFileLock(lock, 2000, async () => readFileSync(lock, 'utf8'))).toBe(String(process.pid));

    writeFileSync(lock, String(process.pid)); // held by a live process: this one, here
    const waits: number[] = [];
    const startedAt = Date.now();
    await expect(
      withFileLock(
        lock,
        300,
        async () => 'entered',
        (pid) => waits.push(pid),
      ),
    ).rejects.toThrow(`still held by pid ${process.pid} after 300 ms`);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(waits).toEqual([process.pid]);
  });
});
