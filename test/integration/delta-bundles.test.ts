/**
 * Inventories and delta bundles with the real CLI and real servers: a site that holds release 1
 * writes its inventory, the source writes release 2 as a delta against it (only the blobs the site
 * lacks), and the site's import yields release 2 byte-identical to the source's; the same delta on an
 * empty site is refused with the missing digests and publishes nothing. Both paths: the stopped root
 * and the running berth's loopback endpoints.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth, requesterOf } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { blob, imageManifest, indexOf, pushBlob, pushManifest, type Blob, type Manifest } from '../helpers/oci.js';


async function pushAll(b: Berth, repo: string, tag: string, blobs: Blob[], m: Manifest, children: Manifest[] = []): Promise<void> {
  const req = requesterOf(b);
  for (const x of blobs) await pushBlob(req, repo, x);
  for (const c of children) await pushManifest(req, repo, c.digest, c);
  await pushManifest(req, repo, tag, m);
}

async function catalog(b: Berth): Promise<string[]> {
  return ((await (await fetch(`${b.url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;
}

const KiB = 1024;

describe('inventories and delta bundles', () => {
  it('a delta against a site holding release 1 carries only what it lacks and imports to release 2 byte for byte; an empty site refuses it', async () => {
    const dir = await testDir('berth-delta-');
    // two releases of two images sharing the base and library layers; release 2 brings new app layers
    // and, for the index image, a new child for one platform
    const base = blob(1024 * KiB);
    const libs = blob(512 * KiB);
    const r1 = { web: blob(64 * KiB), db: blob(64 * KiB), cfgWeb: blob(300), cfgDb: blob(300) };
    const r2 = { web: blob(64 * KiB), db: blob(64 * KiB), cfgWeb: blob(300), cfgDb: blob(300), arm: blob(96 * KiB), cfgArm: blob(300) };
    const web1 = imageManifest(r1.cfgWeb, [base, libs, r1.web]);
    const db1 = imageManifest(r1.cfgDb, [base, r1.db]);
    const web2 = imageManifest(r2.cfgWeb, [base, libs, r2.web]);
    const db2 = imageManifest(r2.cfgDb, [base, r2.db]);
    const arm2 = imageManifest(r2.cfgArm, [libs, r2.arm]);
    const multi2 = indexOf([db2, arm2]);

    const source = await spawnBerth({ root: join(dir, 'source') });
    let site: Berth | undefined;
    try {
      await pushAll(source, 'rel/web', '1', [base, libs, r1.web, r1.cfgWeb], web1);
      await pushAll(source, 'rel/db', '1', [base, r1.db, r1.cfgDb], db1);
      await pushAll(source, 'rel/web', '2', [base, libs, r2.web, r2.cfgWeb], web2);
      await pushAll(source, 'rel/db', '2', [base, r2.db, r2.cfgDb, libs, r2.arm, r2.cfgArm], multi2, [db2, arm2]);
      const release1 = ['rel/web:1', 'rel/db:1'];
      const release2 = ['rel/web:2', 'rel/db:2'];
      // the site is loaded with release 1 from a full bundle (stopped root)
      const full1 = join(dir, 'r1.tar');
      const full2 = join(dir, 'r2.tar');
      expect((await runCli(['export', ...release1, '-o', full1, '--root', source.root])).code).toBe(0);
      expect((await runCli(['export', ...release2, '-o', full2, '--root', source.root])).code).toBe(0);
      const siteRoot = join(dir, 'site');
      const imported = await runCli(['import', full1, '--root', siteRoot]);
      expect(imported.code, imported.out).toBe(0);

      // the site's inventory, from its stopped root
      const inventoryFile = join(dir, 'site.json');
      const inv = await runCli(['inventory', '--root', siteRoot, '-o', inventoryFile]);
      expect(inv.code, inv.out).toBe(0);
      const written = JSON.parse(await readFile(inventoryFile, 'utf8'));
      expect(written.berthInventory).toBe(1);
      const hex = (b: { digest: string }) => b.digest.slice('sha256:'.length);
      expect(written.blobs.sha256).toEqual([base, libs, r1.web, r1.db, r1.cfgWeb, r1.cfgDb].map(hex).sort());
      expect(written.manifests.sha256).toEqual([web1, db1].map(hex).sort());

      // the delta, written by the running source from the inventory
      const delta = join(dir, 'delta.tar');
      const made = await runCli(['export', ...release2, '--exclude-from', inventoryFile, '-o', delta, '--root', source.root]);
      expect(made.code, made.out).toBe(0);
      expect(JSON.parse(made.stdout).excluded).toEqual({ blobs: 2, bytes: base.bytes.length + libs.bytes.length });
      const [deltaSize, fullSize] = [(await stat(delta)).size, (await stat(full2)).size];
      console.log(`delta bundle ${deltaSize} bytes against the full bundle's ${fullSize} (${((100 * deltaSize) / fullSize).toFixed(1)}%)`);
      expect(fullSize - deltaSize).toBeGreaterThanOrEqual(base.bytes.length + libs.bytes.length);

      // an empty site refuses it, naming the missing blobs, and publishes nothing
      const emptyRoot = join(dir, 'empty');
      const refused = await runCli(['import', delta, '--root', emptyRoot]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('delta bundle and 2 blob(s) it relies on are not in this registry');
      for (const b of [base, libs]) expect(refused.stderr).toContain(b.digest);
      expect(refused.stderr).not.toMatch(/\n\s+at /); // a refusal, not a stack trace
      const empty = await spawnBerth({ root: emptyRoot });
      try {
        expect(await catalog(empty)).toEqual([]);
      } finally {
        await empty.stop();
      }

      // the site, now running, imports the delta through its loopback endpoint
      site = await spawnBerth({ root: siteRoot });
      const loaded = await runCli(['import', delta, '--root', siteRoot]);
      expect(loaded.code, loaded.out).toBe(0);
      expect(JSON.parse(loaded.stdout).images.map((i: { repository: string; tag: string }) => `${i.repository}:${i.tag}`)).toEqual(release2);
      // release 2 exported from the site is the source's full bundle, byte for byte
      const again = join(dir, 'site-r2.tar');
      expect((await runCli(['export', ...release2, '-o', again, '--root', siteRoot])).code).toBe(0);
      expect((await readFile(again)).equals(await readFile(full2))).toBe(true);
      // and the running site's inventory now lists release 2 too
      const inv2 = await runCli(['inventory', '--root', siteRoot]);
      expect(inv2.code, inv2.out).toBe(0);
      const after = JSON.parse(inv2.stdout);
      for (const m of [web2, multi2, db2, arm2]) expect(after.manifests.sha256).toContain(hex(m));
      for (const b of [r2.web, r2.arm, r2.cfgArm]) expect(after.blobs.sha256).toContain(hex(b));
    } finally {
      await site?.stop();
      await source.stop();
    }
  });

  it('refuses a file that is not an inventory before writing anything, on both paths', async () => {
    const dir = await testDir('berth-delta-bad-');
    const source = await spawnBerth({ root: join(dir, 'source') });
    try {
      const w = blob(100);
      await pushAll(source, 'x/y', '1', [w], imageManifest(w, []));
      const bad = join(dir, 'bad.json');
      const out = join(dir, 'out.tar');
      for (const [text, message] of [
        ['{not json', 'not valid JSON'],
        ['{"berthInventory":2}', 'not a berth inventory of version 1'],
        ['{"berthInventory":1,"blobs":{"sha256":["zz"]}}', 'not a sha256 digest'],
      ] as const) {
        await writeFile(bad, text);
        const running = await runCli(['export', 'x/y:1', '--exclude-from', bad, '-o', out, '--root', source.root]);
        expect(running.code).not.toBe(0);
        expect(running.stderr).toContain(message);
        expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
      }
      await source.stop();
      const stopped = await runCli(['export', 'x/y:1', '--exclude-from', bad, '-o', out, '--root', source.root]);
      expect(stopped.code).not.toBe(0);
      expect(stopped.stderr).toContain('inventory refused');
      expect(existsSync(out)).toBe(false);
    } finally {
      await source.stop();
    }
  });
});
