/** `berth user add/delete` on a real htpasswd file, checked with Apache's own htpasswd -v when present. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { Htpasswd } from '../../src/auth/htpasswd.js';

const run = promisify(execFile);

function berth(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(CLI, args, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    child.stdin!.end(input ?? '');
  });
}

describe('berth user', () => {
  it('adds, changes and deletes users; a wrong name or a missing user is an error', async () => {
    const file = join(await testDir('berth-cli-'), 'htpasswd');
    expect((await berth(['user', 'add', 'alice', '--password-stdin', '--file', file], 'pw-1\n')).code).toBe(0);
    expect((await berth(['user', 'add', 'bob', '--file', file], 'pw-2\n')).code).toBe(0);
    expect((await berth(['user', 'add', 'alice', '--file', file], 'pw-3\n')).code).toBe(0);
    const h = new Htpasswd(file);
    expect(await h.verify('alice', 'pw-3')).toBe(true);
    expect(await h.verify('bob', 'pw-2')).toBe(true);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
    try {
      await run('htpasswd', ['-vb', file, 'alice', 'pw-3']); // Apache reads what berth wrote
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
    expect((await berth(['user', 'delete', 'bob', '--file', file])).code).toBe(0);
    const again = await berth(['user', 'delete', 'bob', '--file', file]);
    expect(again.code).toBe(2);
    expect(again.out).toMatch(/no such user: bob/);
    const bad = await berth(['user', 'add', 'bad:name', '--file', file], 'x\n');
    expect(bad.code).toBe(2);
    expect((await berth(['user', 'add', 'carol', '--file', file], '')).out).toMatch(/empty password/);
  });
});
