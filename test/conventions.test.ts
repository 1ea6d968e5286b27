// Promises the documentation makes about the code, checked so they stay true.
import { readdirSync, readFileSync } from 'node:fs';
import { ERROR_CODES } from '@stomp-rpc/client';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('conventions', () => {
  it.each(['README.md', 'docs/protocol.md'])('docs - %s lists every error code, and no other', (path) => {
    const rows = [...read(path).matchAll(/^\| `([A-Z_]+)` +\| (?:client|server)/gm)].map((match) => match[1]);
    expect(rows.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('docs - docs/protocol.md gives each code the retry and may-have-run answers of ERROR_CODES', () => {
    const rows = [...read('docs/protocol.md').matchAll(/^\| `([A-Z_]+)` +\| [a-z ]+\| (yes|no) +\| (yes|no) +\|/gm)];
    const documented = Object.fromEntries(rows.map(([, code, retry, ran]) => [code, [retry, ran]]));
    const yesNo = (flag: boolean) => (flag ? 'yes' : 'no');
    const expected = Object.entries(ERROR_CODES).map(([code, info]) => [
      code,
      [yesNo(info.retry), yesNo(info.mayHaveRun)],
    ]);
    expect(documented).toEqual(Object.fromEntries(expected));
  });

  it('client - the isomorphic client imports nothing from node:*', () => {
    const dir = new URL('../packages/client/src/', import.meta.url);
    // The command line is a Node program, not part of the library a page bundles.
    const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'cli.ts',
    );
    expect(sources.length).toBeGreaterThan(20);
    for (const name of sources) {
      expect(readFileSync(new URL(name, dir), 'utf8'), name).not.toMatch(/from ['"]node:/);
    }
  });
});
