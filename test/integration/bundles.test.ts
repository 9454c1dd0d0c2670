/**
 * Content bundles (issue 7) with the real CLI and real servers: `berth import` of OCI layouts
 * (directory, tar, tar.gz; multi-image with full references) into stopped and running registries,
 * `berth export` round trips byte for byte, refused bundles leave nothing visible, and
 * POST /api/bundles is for administrators only.
 */
import { execFileSync } from 'node:child_process';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { runCli, spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS } from '../helpers/tools.js';
import { testDir } from '../helpers/tmp.js';
import { OCI_INDEX, OCI_MANIFEST, sha256 } from '../helpers/oci.js';

const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;

/** An OCI layout made offline by mkoci.sh: a 2-platform index and a single image, named by full references. */
async function layout(dir: string): Promise<{ dir: string; index: { digest: string }[] }> {
  const out = join(dir, 'layout');
  execFileSync('bash', [join(SHARED_TOOLS, 'mkoci.sh'), 'multi', join(dir, 'multi'), '64']);
  execFileSync('bash', [join(SHARED_TOOLS, 'mkoci.sh'), 'image', out, '32', '16']);
  // merge the multi-platform image into the same layout, as a second image
  execFileSync('bash', ['-c', `cp -n ${join(dir, 'multi')}/blobs/sha256/* ${out}/blobs/sha256/`]);
  const single = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
  const multi = JSON.parse(await readFile(join(dir, 'multi', 'index.json'), 'utf8'));
  single.manifests[0].annotations = { 'org.opencontainers.image.ref.name': 'quay.io/kairos/core:v1' };
  multi.manifests[0].annotations = { 'org.opencontainers.image.ref.name': 'alpine:3.20' };
  single.manifests.push(multi.manifests[0]);
  await writeFile(join(out, 'index.json'), JSON.stringify(single));
  return { dir: out, index: single.manifests };
}

/** The offset of the middle byte of the largest file in a tar (ustar: a 512-byte header, then the data padded to 512). */
function middleOfLargestEntry(tar: Buffer): number {
  let best = { size: -1, at: 0 };
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0; ) {
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('ascii').replace(/\0.*$/, '').trim() || '0', 8);
    if (size > best.size) best = { size, at: at + 512 };
    at += 512 + Math.ceil(size / 512) * 512;
  }
  if (best.size <= 0) throw new Error('no file in the tar');
  return best.at + Math.floor(best.size / 2);
}

async function manifest(b: Berth, repo: string, ref: string) {
  const r = await fetch(`${b.url}/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT } });
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()), digest: r.headers.get('docker-content-digest') };
}

async function catalog(b: Berth): Promise<string[]> {
  return ((await (await fetch(`${b.url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;
}

describe('content bundles', () => {
  it('imports a layout directory into a stopped registry and a tar.gz into a running one', async () => {
    const dir = await testDir('berth-bundle-');
    const { dir: lay, index } = await layout(dir);
    const root = join(dir, 'root');
    const first = await runCli(['import', lay, '--root', root, '--prefix', 'spectro-images']);
    expect(first.code, first.out).toBe(0);
    expect(JSON.parse(first.stdout).images).toEqual([
      { repository: 'spectro-images/quay.io/kairos/core', tag: 'v1', digest: index[0]!.digest },
      { repository: 'spectro-images/docker.io/library/alpine', tag: '3.20', digest: index[1]!.digest },
    ]);
    // idempotent: the same bundle again changes nothing and succeeds
    expect((await runCli(['import', lay, '--root', root, '--prefix', 'spectro-images'])).code).toBe(0);
    const berth = await spawnBerth({ root });
    try {
      const m = await manifest(berth, 'spectro-images/quay.io/kairos/core', 'v1');
      expect(m.status).toBe(200);
      expect(m.body.equals(await readFile(join(lay, 'blobs', 'sha256', index[0]!.digest.slice(7))))).toBe(true);
      const idx = await manifest(berth, 'spectro-images/docker.io/library/alpine', '3.20');
      expect(idx.digest).toBe(index[1]!.digest);
      for (const child of JSON.parse(idx.body.toString()).manifests) {
        expect((await manifest(berth, 'spectro-images/docker.io/library/alpine', child.digest)).status).toBe(200);
      }
      // the running berth holds the root: the CLI streams the bundle to it (gzip tar, another prefix)
      const tgz = join(dir, 'bundle.tar.gz');
      execFileSync('tar', ['-czf', tgz, '-C', lay, '.']);
      const config = join(dir, 'berth.yaml');
      await writeFile(config, `http:\n  listen: ${berth.host}\n`);
      const live = await runCli(['import', tgz, '--root', root, '--config', config, '--prefix', 'site-b']);
      expect(live.code, live.out).toBe(0);
      expect(await catalog(berth)).toEqual(expect.arrayContaining(['site-b/quay.io/kairos/core', 'site-b/docker.io/library/alpine']));
      // names only a tag: refused unless --repository says where
      const bare = JSON.parse(await readFile(join(lay, 'index.json'), 'utf8'));
      bare.manifests = [{ ...bare.manifests[0], annotations: { 'org.opencontainers.image.ref.name': 'v7' } }];
      await writeFile(join(lay, 'index.json'), JSON.stringify(bare));
      const refused = await runCli(['import', lay, '--root', root, '--config', config]);
      expect(refused.code).not.toBe(0);
      expect(refused.out).toMatch(/named only "v7".*give a repository/);
      const named = await runCli(['import', lay, '--root', root, '--config', config, '--repository', 'team/app']);
      expect(named.code, named.out).toBe(0);
      expect((await manifest(berth, 'team/app', 'v7')).status).toBe(200);
    } finally {
      await berth.stop();
    }
  });

  it('round-trips export -> import -> export byte-identical; refuses truncated and corrupt bundles leaving nothing', async () => {
    const dir = await testDir('berth-roundtrip-');
    const { dir: lay } = await layout(dir);
    const rootA = join(dir, 'a');
    expect((await runCli(['import', lay, '--root', rootA])).code).toBe(0);
    const a = await spawnBerth({ root: rootA });
    const exported = join(dir, 'a.tar');
    try {
      const config = join(dir, 'a.yaml');
      await writeFile(config, `http:\n  listen: ${a.host}\n`);
      // through the running berth
      const ex = await runCli(['export', 'quay.io/kairos/core:v1', 'docker.io/library/alpine:3.20', '-o', exported, '--root', rootA, '--config', config]);
      expect(ex.code, ex.out).toBe(0);
      const missing = await runCli(['export', 'nope/nothing:1', '-o', join(dir, 'x.tar'), '--root', rootA, '--config', config]);
      expect(missing.code).not.toBe(0);
      await expect(stat(join(dir, 'x.tar'))).rejects.toThrow();
    } finally {
      await a.stop();
    }
    const rootB = join(dir, 'b');
    const imp = await runCli(['import', exported, '--root', rootB]);
    expect(imp.code, imp.out).toBe(0);
    const again = join(dir, 'b.tar');
    expect((await runCli(['export', 'quay.io/kairos/core:v1', 'docker.io/library/alpine:3.20', '-o', again, '--root', rootB])).code).toBe(0);
    const [x, y] = [await readFile(exported), await readFile(again)];
    expect(y.length).toBe(x.length);
    expect(sha256(y)).toBe(sha256(x));

    // a truncated copy (cut in the middle of a blob) and a corrupt one (a flipped byte): both refused
    const cut = join(dir, 'cut.tar');
    await writeFile(cut, x);
    await truncate(cut, Math.floor(x.length * 0.6));
    const corrupt = join(dir, 'corrupt.tar');
    const flipped = Buffer.from(x);
    // in the middle of the largest blob's bytes: a byte flipped at a fixed share of the file could land
    // in a tar header's unused field or an entry's padding, which no reader checks
    flipped[middleOfLargestEntry(x)] ^= 0xff;
    await writeFile(corrupt, flipped);
    const rootC = join(dir, 'c');
    for (const bad of [cut, corrupt]) {
      const r = await runCli(['import', bad, '--root', rootC, '--prefix', 'bad']);
      expect(r.code, r.out).not.toBe(0);
      expect(r.stderr).toMatch(/bundle refused/);
    }
    const c = await spawnBerth({ root: rootC });
    try {
      expect(await catalog(c)).toEqual([]);
      expect((await manifest(c, 'bad/quay.io/kairos/core', 'v1')).status).toBe(404);
    } finally {
      await c.stop();
    }
  });

  it('takes POST /api/bundles (multipart) from administrators only', async () => {
    const dir = await testDir('berth-apibundle-');
    const { dir: lay } = await layout(dir);
    const tarFile = join(dir, 'b.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', lay, '.']);
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, ['root', 'dev'].map((u) => `${u}:${bcrypt.hashSync(`${u}-pw`, 4)}\n`).join(''));
    const config = join(dir, 'berth.yaml');
    await writeFile(
      config,
      `http:\n  auth:\n    htpasswd: {path: ${htpasswd}}\naccessControl:\n  repositories:\n    "**": {defaultPolicy: [read, create]}\n  adminPolicy: {users: [root], actions: [read, create, update, delete]}\n`,
    );
    const berth = await spawnBerth({ args: ['--config', config] });
    const upload = (user?: string) => {
      const form = new FormData();
      form.append('bundle', new Blob([new Uint8Array(execFileSync('cat', [tarFile]))]), 'b.tar');
      const headers: Record<string, string> = user ? { authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}` } : {};
      return fetch(`${berth.url}/api/bundles?prefix=ui`, { method: 'POST', body: form, headers });
    };
    try {
      const anon = await upload();
      expect(anon.status).toBe(401);
      const dev = await upload('dev');
      expect(dev.status).toBe(403);
      expect(((await dev.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DENIED');
      const root = await upload('root');
      expect(root.status, await root.clone().text()).toBe(201);
      expect(((await root.json()) as { images: unknown[] }).images).toHaveLength(2);
      const r = await fetch(`${berth.url}/v2/ui/quay.io/kairos/core/manifests/v1`, {
        headers: { accept: ACCEPT, authorization: `Basic ${Buffer.from('dev:dev-pw').toString('base64')}` },
      });
      expect(r.status).toBe(200);
    } finally {
      await berth.stop();
    }
  });
});
