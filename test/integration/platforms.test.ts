/**
 * Only the platforms a site runs, through bundles, with the real CLI and servers: `export --platform`
 * carries a 3-platform index as it is (its digest unchanged) with only the listed platform's child and
 * its attestation; the import keeps that index sparse on purpose (the record names its platforms), a
 * pull of another platform's child is a clean MANIFEST_UNKNOWN, GC and verify accept it, and exporting
 * it again gives the same bytes. `import --platform` does the same from a full bundle.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth, requesterOf } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { OCI_INDEX, OCI_MANIFEST, blob, desc, imageManifest, manifestOf, pushBlob, pushManifest, type Blob, type Manifest } from '../helpers/oci.js';


const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;

async function get(b: Berth, path: string): Promise<{ status: number; code?: string; digest: string | null }> {
  const r = await fetch(`${b.url}${path}`, { headers: { accept: ACCEPT } });
  const text = await r.text();
  return { status: r.status, digest: r.headers.get('docker-content-digest'), ...(r.status >= 400 ? { code: (JSON.parse(text) as { errors: { code: string }[] }).errors[0]!.code } : {}) };
}

/** The entry names of a tar (ustar headers), for what a bundle carries. */
function tarNames(tar: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0; ) {
    const name = tar.subarray(at, at + 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
    out.push(name);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('platforms', () => {
  it('exports and imports only linux/amd64 of a 3-platform index, its digest unchanged, and the site keeps it sparse on purpose', async () => {
    const dir = await testDir('berth-platforms-');
    const arches = [
      { platform: { os: 'linux', architecture: 'amd64' } },
      { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ];
    const images = arches.map(() => ({ config: blob(300), layers: [blob(96 * 1024), blob(32 * 1024)] as Blob[] }));
    const children = images.map((i) => imageManifest(i.config, i.layers));
    const att = { config: blob(100), layer: blob(2048) };
    const attestation = imageManifest(att.config, [att.layer]);
    const index: Manifest = manifestOf(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          ...children.map((c, i) => desc(OCI_MANIFEST, c, { platform: arches[i]!.platform })),
          desc(OCI_MANIFEST, attestation, {
            platform: { os: 'unknown', architecture: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': children[0]!.digest },
          }),
        ],
      },
      OCI_INDEX,
    );
    const source = await spawnBerth({ root: join(dir, 'source') });
    try {
      const req = requesterOf(source);
      for (const i of images) for (const b of [i.config, ...i.layers]) await pushBlob(req, 'apps/multi', b);
      for (const b of [att.config, att.layer]) await pushBlob(req, 'apps/multi', b);
      for (const c of [...children, attestation]) await pushManifest(req, 'apps/multi', c.digest, c);
      await pushManifest(req, 'apps/multi', 'v1', index);
    } finally {
      await source.stop();
    }
    const full = join(dir, 'full.tar');
    const amd = join(dir, 'amd64.tar');
    expect((await runCli(['export', 'apps/multi:v1', '-o', full, '--root', source.root])).code).toBe(0);
    const made = await runCli(['export', 'apps/multi:v1', '--platform', 'linux/amd64', '-o', amd, '--root', source.root]);
    expect(made.code, made.out).toBe(0);
    // the index, the amd64 child and its attestation, and their blobs: nothing of arm64 or arm/v7
    const hexes = (xs: { digest: string }[]) => xs.map((x) => `blobs/sha256/${x.digest.slice(7)}`);
    expect(tarNames(await readFile(amd)).sort()).toEqual(
      ['oci-layout', 'index.json', ...hexes([index, children[0]!, attestation, images[0]!.config, ...images[0]!.layers, att.config, att.layer])].sort(),
    );
    const [fullSize, amdSize] = [(await stat(full)).size, (await stat(amd)).size];
    console.log(`linux/amd64 only: ${amdSize} bytes against ${fullSize} for all three platforms (${((100 * amdSize) / fullSize).toFixed(1)}%)`);

    const siteRoot = join(dir, 'site');
    const imported = await runCli(['import', amd, '--root', siteRoot]);
    expect(imported.code, imported.out).toBe(0);
    // garbage collection with no grace delay: it would take anything the sparse index does not keep
    const noDelay = join(dir, 'gc.json');
    await writeFile(noDelay, JSON.stringify({ storage: { gc: { delay: '0s' } } }));
    const site = await spawnBerth({ root: siteRoot, args: ['--config', noDelay] });
    try {
      expect(await get(site, '/v2/apps/multi/manifests/v1')).toMatchObject({ status: 200, digest: index.digest });
      expect((await get(site, `/v2/apps/multi/manifests/${children[0]!.digest}`)).status).toBe(200);
      expect((await get(site, `/v2/apps/multi/manifests/${attestation.digest}`)).status).toBe(200);
      for (const c of children.slice(1)) expect(await get(site, `/v2/apps/multi/manifests/${c.digest}`)).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });
      for (const b of images[1]!.layers) expect((await fetch(`${site.url}/v2/apps/multi/blobs/${b.digest}`, { method: 'HEAD' })).status).toBe(404);
      // garbage collection keeps the sparse image whole
      const gc = await runCli(['gc', '--root', siteRoot, '--config', noDelay]);
      expect(gc.code, gc.out).toBe(0);
      expect(JSON.parse(gc.stdout).manifestsDeleted).toBe(0);
      expect((await get(site, `/v2/apps/multi/manifests/${children[0]!.digest}`)).status).toBe(200);
      for (const b of images[0]!.layers) expect((await fetch(`${site.url}/v2/apps/multi/blobs/${b.digest}`, { method: 'HEAD' })).status).toBe(200);
      // exported again (no --platform: the record says which), the same bytes
      const again = join(dir, 'again.tar');
      expect((await runCli(['export', 'apps/multi:v1', '-o', again, '--root', siteRoot])).code).toBe(0);
      expect((await readFile(again)).equals(await readFile(amd))).toBe(true);
    } finally {
      await site.stop();
    }
    const verify = await runCli(['verify', '--root', siteRoot]);
    expect(verify.code, verify.out).toBe(0);

    // import --platform from the full bundle: only arm64 (named without its variant) is kept
    const armRoot = join(dir, 'arm');
    const arm = await runCli(['import', full, '--platform', 'linux/arm64', '--root', armRoot]);
    expect(arm.code, arm.out).toBe(0);
    const armSite = await spawnBerth({ root: armRoot });
    try {
      expect(await get(armSite, '/v2/apps/multi/manifests/v1')).toMatchObject({ status: 200, digest: index.digest });
      expect((await get(armSite, `/v2/apps/multi/manifests/${children[1]!.digest}`)).status).toBe(200);
      for (const c of [children[0]!, children[2]!, attestation]) expect((await get(armSite, `/v2/apps/multi/manifests/${c.digest}`)).status).toBe(404);
    } finally {
      await armSite.stop();
    }
    const bad = await runCli(['export', 'apps/multi:v1', '--platform', 'amd64', '-o', join(dir, 'x.tar'), '--root', source.root]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('os/architecture[/variant]');
  });
});
