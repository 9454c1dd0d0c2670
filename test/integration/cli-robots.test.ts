/** `berth token` on a stopped registry opens its root itself; the robot it makes works once berth serves. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth } from '../helpers/spawn.js';

describe('berth token on a stopped registry', () => {
  it('creates, lists and revokes in the root; the robot logs in once berth serves it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-clirobots-'));
    try {
      const root = join(dir, 'root');
      await writeFile(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
      const config = join(dir, 'berth.yaml');
      await writeFile(config, `http:\n  auth:\n    htpasswd: {path: ${join(dir, 'htpasswd')}}\n`);
      const args = ['--root', root, '--config', config];
      const bad = await runCli(['token', 'create', ...args, '--name', 'x', '--owner', 'nobody', '--scope', 'a/**:pull']);
      expect([bad.code, bad.stderr.trim()]).toEqual([2, 'berth: config: owner nobody is not a user of this registry (htpasswd)']);
      const made = await runCli(['token', 'create', ...args, '--name', 'ci', '--owner', 'alice', '--scope', 'apps/**:pull']);
      expect(made.code, made.out).toBe(0);
      const secret = /secret: +(\S+)/.exec(made.stdout)![1]!;
      const berth = await spawnBerth({ root, args: ['--config', config] });
      try {
        const basic = `Basic ${Buffer.from(`robot$ci:${secret}`).toString('base64')}`;
        expect((await fetch(`${berth.url}/v2/apps/x/tags/list`, { headers: { authorization: basic } })).status).toBe(404); // in: no such repository
        expect((await fetch(`${berth.url}/v2/other/x/tags/list`, { headers: { authorization: basic } })).status).toBe(403); // outside its scope
      } finally {
        await berth.stop();
      }
      const revoked = await runCli(['token', 'revoke', ...args, 'ci']);
      expect(revoked.code, revoked.out).toBe(0);
      const listed = JSON.parse((await runCli(['token', 'list', ...args])).stdout) as { robots: { name: string; revokedAt?: number }[] };
      expect(listed.robots.map((r) => [r.name, typeof r.revokedAt])).toEqual([['ci', 'number']]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
