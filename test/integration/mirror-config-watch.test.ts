/**
 * `berth mirror-config --watch`, as the node-config DaemonSet runs it on every node: the containerd
 * hosts.toml files follow berth's own upstreams (GET /_berth/mirror/hosts), a host added to berth's
 * configuration gets its file, a host removed loses the file berth wrote, files berth did not write
 * are left alone, and berth being away changes nothing. Files are replaced whole (writeAtomic).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, spawnBerth, type Berth } from '../helpers/spawn.js';
import { freePort } from '../helpers/ports.js';
import { testDir, testDirPersistent } from '../helpers/tmp.js';
import { writeAtomic } from '../../src/cli/atomic-file.js';

const FOREIGN = '# written by hand\nserver = "https://registry.local"\n';

async function until(what: string, check: () => Promise<boolean>, log: () => string): Promise<void> {
  const t = Date.now();
  while (!(await check())) {
    if (Date.now() - t > 15_000) throw new Error(`${what}: not within 15 s; the watcher said:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exists = (f: string) => stat(f).then(() => true, () => false);

describe('berth mirror-config --watch', () => {
  let berth: Berth | undefined;
  let watcher: ChildProcess | undefined;
  afterAll(async () => {
    watcher?.kill('SIGKILL');
    await berth?.stop();
  });

  it("follows berth's upstreams: files added and removed, foreign files kept, berth's absence harmless", async () => {
    const dir = await testDirPersistent('berth-mirror-watch-');
    const certs = join(dir, 'certs.d');
    await mkdir(join(certs, 'registry.local'), { recursive: true });
    await writeFile(join(certs, 'registry.local', 'hosts.toml'), FOREIGN);
    const port = await freePort();
    const start = async (hosts: string[]) => {
      const file = join(dir, `berth-${hosts.join('-')}.yaml`);
      await writeFile(file, `${JSON.stringify({ mirror: { upstreams: hosts.map((host) => ({ host, url: 'http://127.0.0.1:9' })) } })}\n`);
      return spawnBerth({ root: join(dir, 'root'), port, args: ['--config', file] });
    };
    berth = await start(['docker.io', 'quay.io']);
    expect(await (await fetch(`${berth.url}/_berth/mirror/hosts`)).json()).toEqual({ hosts: ['docker.io', 'quay.io'] });

    let out = '';
    watcher = spawn(process.execPath, [CLI, 'mirror-config', '--registry', `127.0.0.1:${port}`, '--watch', '--interval', '200ms', '-o', certs]);
    watcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    watcher.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const log = () => out;
    await until('files for docker.io and quay.io', async () => (await exists(join(certs, 'docker.io', 'hosts.toml'))) && exists(join(certs, 'quay.io', 'hosts.toml')), log);
    expect(await readFile(join(certs, 'quay.io', 'hosts.toml'), 'utf8')).toContain(`[host."http://127.0.0.1:${port}"]`);
    const quayBefore = (await stat(join(certs, 'quay.io', 'hosts.toml'))).mtimeMs;

    // berth away: the files stay
    await berth.stop();
    berth = undefined;
    await until('the watcher noticed berth is away', async () => /the files stay as they are/.test(out), log);
    expect(await exists(join(certs, 'docker.io', 'hosts.toml'))).toBe(true);

    // back with another list: ghcr.io added, docker.io gone, quay.io unchanged
    berth = await start(['quay.io', 'ghcr.io']);
    await until('ghcr.io added and docker.io removed', async () => (await exists(join(certs, 'ghcr.io', 'hosts.toml'))) && !(await exists(join(certs, 'docker.io', 'hosts.toml'))), log);
    expect(await exists(join(certs, 'docker.io'))).toBe(false);
    expect((await stat(join(certs, 'quay.io', 'hosts.toml'))).mtimeMs).toBe(quayBefore); // not rewritten: containerd would reload it
    expect(await readFile(join(certs, 'registry.local', 'hosts.toml'), 'utf8')).toBe(FOREIGN);
    expect((await readdir(certs, { recursive: true })).filter((f) => String(f).endsWith('.tmp'))).toEqual([]);

    watcher.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => watcher!.once('exit', r));
    expect(code).toBe(0);
  }, 60_000);

  it('replaces a file whole: a reader of the old one reads it all; a failed write leaves no temporary file', async () => {
    const dir = await testDir('berth-atomic-');
    const file = join(dir, 'hosts.toml');
    await writeFile(file, 'old contents\n'.repeat(1000));
    const reader = await open(file, 'r');
    try {
      await writeAtomic(file, 'new\n');
      expect((await reader.readFile('utf8')).length).toBe('old contents\n'.length * 1000);
      expect(await readFile(file, 'utf8')).toBe('new\n');
    } finally {
      await reader.close();
    }
    // a rename that fails (the place is a directory with something in it, even for root): the error
    // comes back, and no temporary file is left beside it
    await mkdir(join(dir, 'busy', 'x'), { recursive: true });
    await expect(writeAtomic(join(dir, 'busy'), 'new\n')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['busy', 'hosts.toml']);
  });
});
