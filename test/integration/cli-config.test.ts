/** `berth config check FILE` as an operator runs it: ok for a good file, the key and its place for a bad one. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';

describe('berth config check', () => {
  it('accepts a good file and names a bad key, an ill-typed value and a missing file', async () => {
    const dir = await testDir('berth-cfgcheck-');
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'http:\n  listen: 127.0.0.1:5000\nstorage:\n  gc: {interval: 12h}\nmirror:\n  upstreams: [{host: docker.io, url: "https://registry-1.docker.io"}]\n');
    const ok = await runCli(['config', 'check', good]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.stdout).toContain('ok');
    const cases: [string, string][] = [
      ['storage:\n  gc: {intervall: 12h}\n', 'storage.gc.intervall: unknown key'],
      ['storage:\n  fsync: "yes"\n', 'storage.fsync: must be a boolean'],
      ['mirror:\n  upstreams: [{host: quay.io, url: "ftp://x"}]\n', 'mirror.upstreams[0].url: http or https'],
      ['http:\n  auth: {htpasswd: {path: /nonexistent/htpasswd}}\n', 'http.auth.htpasswd.path'],
      ['mirror:\n  cache: {pin: [docker.io/library/*]}\n', 'mirror.cache: give maxBytes (bytes or a share of the volume), lowWater, or both'],
      ['mirror:\n  cache: {lowWater: 5G}\n', 'mirror.cache.lowWater: a share of the volume'],
      ['mirror:\n  platforms: [amd64]\n', 'mirror.platforms[0]: platform "amd64"'],
    ];
    for (const [text, message] of cases) {
      const f = join(dir, 'bad.yaml');
      await writeFile(f, text);
      const r = await runCli(['config', 'check', f]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const missing = await runCli(['config', 'check', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope.yaml: ENOENT/);
  });
});
