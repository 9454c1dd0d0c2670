/**
 * Bundle lifecycle with the real CLI and a real server: each import is recorded (name, version,
 * digest, time, images), retention keeps the images of the last N versions of a bundle (older
 * versions are untagged and garbage collection frees what only they held), and `berth bundles remove`
 * untags only what that version alone brought.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth, requesterOf } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { blob, imageManifest, pushBlob, pushManifest, type Blob, type Manifest } from '../helpers/oci.js';


async function push(b: Berth, repo: string, tag: string, config: Blob, layers: Blob[]): Promise<Manifest> {
  const m = imageManifest(config, layers);
  for (const x of [config, ...layers]) await pushBlob(requesterOf(b), repo, x);
  await pushManifest(requesterOf(b), repo, tag, m);
  return m;
}

const status = async (b: Berth, path: string) => (await fetch(`${b.url}${path}`, { method: 'HEAD' })).status;

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Listed = { bundles: { name: string; version: string; digest: string; importedAt: number; images: { repository: string; tag?: string; digest: string }[] }[] };

describe('bundle lifecycle', () => {
  it('records imports, keeps the last 2 versions by retention, and removes a version without touching what another brought', async () => {
    const dir = await testDir('berth-lifecycle-');
    const base = blob(64 * 1024);
    const tools = { config: blob(200), layer: blob(4096) };
    const webs = [1, 2, 3].map(() => ({ config: blob(200), layer: blob(8192) }));
    const source = await spawnBerth({ root: join(dir, 'source') });
    const files: string[] = [];
    const manifests: Manifest[] = [];
    let toolsManifest: Manifest;
    try {
      toolsManifest = await push(source, 'edge/tools', 'stable', tools.config, [base, tools.layer]);
      for (const [i, w] of webs.entries()) {
        const v = `1.0.${i + 1}`;
        manifests.push(await push(source, 'edge/web', v, w.config, [base, w.layer]));
        const file = join(dir, `edge-apps-${v}.tar`);
        // version 1 alone; versions 2 and 3 both carry edge/tools:stable
        const images = i === 0 ? [`edge/web:${v}`] : [`edge/web:${v}`, 'edge/tools:stable'];
        const made = await runCli(['export', ...images, '--name', 'edge-apps', '--version', v, '-o', file, '--root', source.root]);
        expect(made.code, made.out).toBe(0);
        files.push(file);
      }
    } finally {
      await source.stop();
    }

    const config = join(dir, 'site.json');
    await writeFile(config, JSON.stringify({ storage: { gc: { enabled: true, interval: '1s', delay: '2s' }, retention: { bundles: [{ names: ['edge-*'], keepLastVersions: 2 }] } } }));
    const siteRoot = join(dir, 'site');
    const site = await spawnBerth({ root: siteRoot, args: ['--config', config] });
    const cli = (...args: string[]) => runCli([...args, '--root', siteRoot, '--config', config]);
    try {
      for (const file of files.slice(0, 2)) {
        const r = await cli('import', file);
        expect(r.code, r.out).toBe(0);
        expect(JSON.parse(r.stdout).bundle.name).toBe('edge-apps');
      }
      // two versions: retention keeps both (give its timer a few runs)
      await new Promise((r) => setTimeout(r, 3000));
      expect(await status(site, '/v2/edge/web/manifests/1.0.1')).toBe(200);
      const third = await cli('import', files[2]!);
      expect(third.code, third.out).toBe(0);

      // the third version makes the first one past the last 2: untagged, then collected
      await until('version 1 untagged', async () => (await status(site, '/v2/edge/web/manifests/1.0.1')) === 404);
      await until("version 1's own layer collected", async () => (await status(site, `/v2/edge/web/blobs/${webs[0]!.layer.digest}`)) === 404);
      for (const [i, w] of webs.entries()) {
        if (i === 0) continue;
        expect(await status(site, `/v2/edge/web/manifests/1.0.${i + 1}`)).toBe(200);
        for (const b of [w.config, w.layer, base]) expect(await status(site, `/v2/edge/web/blobs/${b.digest}`)).toBe(200);
      }
      expect(await status(site, '/v2/edge/tools/manifests/stable')).toBe(200);

      // the records: versions 2 and 3, their file digests, the images each brought
      const listed = await cli('bundles', 'list');
      expect(listed.code, listed.out).toBe(0);
      const { bundles } = JSON.parse(listed.stdout) as Listed;
      expect(bundles.map((b) => `${b.name}@${b.version}`)).toEqual(['edge-apps@1.0.2', 'edge-apps@1.0.3']);
      for (const [i, b] of bundles.entries()) {
        expect(b.digest).toBe(`sha256:${createHash('sha256').update(await readFile(files[i + 1]!)).digest('hex')}`);
        expect(b.images).toEqual([
          { repository: 'edge/web', tag: `1.0.${i + 2}`, digest: manifests[i + 1]!.digest },
          { repository: 'edge/tools', tag: 'stable', digest: toolsManifest!.digest },
        ]);
      }
      expect(bundles[0]!.importedAt).toBeLessThan(bundles[1]!.importedAt);

      // a dry run says what would go and changes nothing
      const dry = await cli('bundles', 'remove', 'edge-apps@1.0.3', '--dry-run');
      expect(dry.code, dry.out).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, untagged: [{ repository: 'edge/web', tag: '1.0.3' }] });
      expect(await status(site, '/v2/edge/web/manifests/1.0.3')).toBe(200);

      // removing version 3 takes its own tag; edge/tools:stable stays, version 2 brought it too
      const removed = await cli('bundles', 'remove', 'edge-apps@1.0.3');
      expect(removed.code, removed.out).toBe(0);
      expect(JSON.parse(removed.stdout)).toEqual({
        bundle: 'edge-apps@1.0.3',
        untagged: [{ repository: 'edge/web', tag: '1.0.3' }],
        kept: [{ repository: 'edge/tools', tag: 'stable', why: 'another recorded bundle brought it too' }],
        dryRun: false,
      });
      await until("version 3's own layer collected", async () => (await status(site, `/v2/edge/web/blobs/${webs[2]!.layer.digest}`)) === 404);
      expect(await status(site, '/v2/edge/web/manifests/1.0.2')).toBe(200);
      expect(await status(site, '/v2/edge/tools/manifests/stable')).toBe(200);
      for (const b of [webs[1]!.config, webs[1]!.layer, base]) expect(await status(site, `/v2/edge/web/blobs/${b.digest}`)).toBe(200);
      for (const b of [tools.config, tools.layer]) expect(await status(site, `/v2/edge/tools/blobs/${b.digest}`)).toBe(200);
      expect((JSON.parse((await cli('bundles', 'list')).stdout) as Listed).bundles.map((b) => b.version)).toEqual(['1.0.2']);

      // an unknown bundle, a malformed reference: one line, non-zero
      const unknown = await cli('bundles', 'remove', 'edge-apps@9.9');
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain('no bundle edge-apps@9.9 is recorded');
      const bad = await cli('bundles', 'remove', 'no-version');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('NAME@VERSION');
    } finally {
      await site.stop();
    }
  });

  it('names a bundle from its file and digest when it names itself nowhere, on a stopped root', async () => {
    const dir = await testDir('berth-lifecycle-name-');
    const source = await spawnBerth({ root: join(dir, 'source') });
    const file = join(dir, 'Site Images.tar');
    try {
      const c = blob(100);
      await push(source, 'x/y', '1', c, []);
      expect((await runCli(['export', 'x/y:1', '-o', file, '--root', source.root])).code).toBe(0);
    } finally {
      await source.stop();
    }
    const root = join(dir, 'site');
    const hex = createHash('sha256').update(await readFile(file)).digest('hex');
    const r = await runCli(['import', file, '--root', root]);
    expect(r.code, r.out).toBe(0);
    expect(JSON.parse(r.stdout).bundle).toEqual({ name: 'site-images', version: hex.slice(0, 12), digest: `sha256:${hex}` });
    const again = await runCli(['import', file, '--root', root, '--name', 'mine', '--version', 'v1']);
    expect(JSON.parse(again.stdout).bundle.name).toBe('mine');
    const listed = JSON.parse((await runCli(['bundles', 'list', '--root', root])).stdout) as Listed;
    expect(listed.bundles.map((b) => `${b.name}@${b.version}`)).toEqual(['mine@v1', `site-images@${hex.slice(0, 12)}`]);
    const badName = await runCli(['import', file, '--root', root, '--name', 'Bad Name']);
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toContain('bundle name "Bad Name"');
  });
});
