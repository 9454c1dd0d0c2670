import { execFileSync } from 'node:child_process';
import { writeFile, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it, vi } from 'vitest';
import { Htpasswd } from '../../../src/auth/htpasswd.js';
import { testDir } from '../../helpers/tmp.js';

describe('Htpasswd', () => {
  it('verifies $2y$ hashes made by Apache htpasswd -B, and $2b$ ones', async () => {
    const dir = await testDir('berth-htpasswd-');
    const file = join(dir, 'htpasswd');
    let line = 'alice:$2y$05$yLZH3WZx0..0FkmtCIn63.BrOLGy3NlYD6fnf.RHPPPUsZo5U0YVW\n'; // htpasswd -Bbn alice secret
    try {
      line = execFileSync('htpasswd', ['-Bbn', 'alice', 'secret'], { encoding: 'utf8' });
    } catch {
      /* the recorded line above was made by the same command */
    }
    await writeFile(file, `${line.trim()}\nbob:$2b$10$fLlNVf/4IG3QsOL.JoJAc.3uYkX1zNwjTAm6WYyapZOYS.MxAlyqi\n# comment\n`);
    const h = new Htpasswd(file);
    expect(await h.verify('alice', 'secret')).toBe(true);
    expect(await h.verify('alice', 'Secret')).toBe(false);
    expect(await h.verify('bob', 'x')).toBe(true);
    expect(await h.verify('carol', 'secret')).toBe(false);
  });

  it('runs bcrypt once for a password that checked out, and again when the file changes it or the password is wrong', async () => {
    const dir = await testDir('berth-htpasswd-');
    const file = join(dir, 'htpasswd');
    const h = new Htpasswd(file);
    await h.set('erin', 'pw1');
    const compare = vi.spyOn(bcrypt, 'compare');
    try {
      expect(await h.verify('erin', 'pw1')).toBe(true);
      expect(await h.verify('erin', 'pw1')).toBe(true);
      expect(compare).toHaveBeenCalledTimes(1);
      expect(await h.verify('erin', 'wrong')).toBe(false);
      expect(await h.verify('erin', 'wrong')).toBe(false);
      expect(compare).toHaveBeenCalledTimes(3); // a wrong password always pays
      await h.set('erin', 'pw2'); // the file changes the password: the old one is refused at once
      expect(await h.verify('erin', 'pw1')).toBe(false);
      expect(await h.verify('erin', 'pw2')).toBe(true);
      await h.delete('erin');
      expect(await h.verify('erin', 'pw2')).toBe(false);
    } finally {
      compare.mockRestore();
    }
  });

  it('adds, replaces and deletes users, and notices edits to the file', async () => {
    const dir = await testDir('berth-htpasswd-');
    const file = join(dir, 'htpasswd');
    const h = new Htpasswd(file);
    await h.set('dana', 'pw1');
    expect(await h.verify('dana', 'pw1')).toBe(true);
    await h.set('dana', 'pw2');
    expect(await h.verify('dana', 'pw1')).toBe(false);
    expect(await h.verify('dana', 'pw2')).toBe(true);
    expect((await readFile(file, 'utf8')).match(/^dana:\$2y\$10\$/m)).not.toBeNull();
    expect(await h.delete('dana')).toBe(true);
    expect(await h.delete('dana')).toBe(false);
    expect(await h.verify('dana', 'pw2')).toBe(false);
    // another writer changes the file: picked up once the file's mtime moves (checked at most every second)
    const other = new Htpasswd(file);
    await other.set('erin', 'pw');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    await new Promise((r) => setTimeout(r, 1100));
    expect(await h.verify('erin', 'pw')).toBe(true);
  });
});
