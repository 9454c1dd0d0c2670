/**
 * crane (go-containerregistry) against a real `berth serve`: push, pull, copy, tag, ls, catalog,
 * digest, delete by tag and by digest, and an artifact with a subject listed by berth's referrers API.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { SHARED_TOOLS, crane, requireTool, sh } from '../helpers/tools.js';

type Layout = { manifests: { digest: string; artifactType?: string }[] };
const layout = async (dir: string) => JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Layout;
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('crane', () => {
  let berth: Berth;
  let work: string;
  let bin: string;
  let mkoci: string;
  const c = (...args: string[]) => sh(bin, [...args, '--insecure'], { env: { DOCKER_CONFIG: join(work, 'docker') } });

  beforeAll(async () => {
    bin = await crane();
    mkoci = requireTool(join(SHARED_TOOLS, 'mkoci.sh'), 'the shared tools must sit beside the checkout');
    work = await mkdtemp(join(tmpdir(), 'berth-crane-'));
    berth = await spawnBerth();
  });
  afterAll(async () => {
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pushes a layout and pulls it back with the same digest; digest, manifest, config, blob agree', async () => {
    const src = join(work, 'img');
    await sh('bash', [mkoci, 'image', src, '300', '40']);
    const want = (await layout(src)).manifests[0]!.digest;
    const ref = `${berth.host}/crane/img:v1`;
    await c('push', src, ref);
    expect((await c('digest', ref)).trim()).toBe(want);
    const manifest = await c('manifest', ref);
    expect(sha(manifest)).toBe(want);
    const config = JSON.parse(manifest).config as { digest: string };
    expect(sha(await c('config', ref))).toBe(config.digest);
    const layer = JSON.parse(manifest).layers[0] as { digest: string };
    const blob = await sh(bin, ['blob', '--insecure', `${berth.host}/crane/img@${layer.digest}`], { env: { DOCKER_CONFIG: join(work, 'docker') } });
    expect(blob.length).toBeGreaterThan(0);
    const out = join(work, 'pulled');
    await c('pull', '--format', 'oci', ref, out);
    expect((await layout(out)).manifests[0]!.digest).toBe(want);
    await c('validate', '--remote', ref);
  });

  it('copies (blob mounts), tags, lists tags and the catalog', async () => {
    const src = join(work, 'cp');
    await sh('bash', [mkoci, 'image', src, '64']);
    const a = `${berth.host}/crane/a:v1`;
    await c('push', src, a);
    const b = `${berth.host}/crane/b:v1`;
    await c('copy', a, b);
    expect((await c('digest', b)).trim()).toBe((await c('digest', a)).trim());
    const mounted = /"method":"POST","url":"\/v2\/crane\/b\/blobs\/uploads\/\?[^"]*mount=sha256(?::|%3A)[0-9a-f]{64}[^"]*","status":201/;
    expect(await berth.logMatching(mounted)).toMatch(/"method":"POST","url":"\/v2\/crane\/b\/blobs\/uploads\/\?[^"]*mount=sha256(?::|%3A)[0-9a-f]{64}[^"]*","status":201/);
    await c('tag', b, 'v2');
    expect((await c('ls', `${berth.host}/crane/b`)).trim().split('\n')).toEqual(['v1', 'v2']);
    const catalog = (await c('catalog', berth.host)).trim().split('\n');
    expect(catalog).toEqual(expect.arrayContaining(['crane/a', 'crane/b']));
  });

  it('deletes by tag (only that tag) and by digest', async () => {
    const src = join(work, 'del');
    await sh('bash', [mkoci, 'image', src, '16']);
    const ref = `${berth.host}/crane/del:v1`;
    await c('push', src, ref);
    await c('tag', ref, 'v2');
    await c('delete', `${berth.host}/crane/del:v1`);
    expect((await c('ls', `${berth.host}/crane/del`)).trim()).toBe('v2');
    const d = (await c('digest', `${berth.host}/crane/del:v2`)).trim();
    await c('delete', `${berth.host}/crane/del@${d}`);
    expect((await c('ls', `${berth.host}/crane/del`)).trim()).toBe('');
    await expect(c('digest', `${berth.host}/crane/del:v2`)).rejects.toThrow(/MANIFEST_UNKNOWN|not found/i);
  });

  it('pushes an artifact with a subject that berth lists in its referrers API (no fallback tag)', async () => {
    const src = join(work, 'art');
    await sh('bash', [mkoci, 'artifact', src]);
    const [image, artifact] = (await layout(src)).manifests;
    await c('push', '--index', src, `${berth.host}/crane/art:v1`);
    const r = await fetch(`${berth.url}/v2/crane/art/referrers/${image!.digest}`);
    expect(r.status).toBe(200);
    const idx = (await r.json()) as Layout;
    expect(idx.manifests.map((m) => m.digest)).toEqual([artifact!.digest]);
    expect(idx.manifests[0]!.artifactType).toBe('application/spdx+json');
    const tags = (await c('ls', `${berth.host}/crane/art`)).trim().split('\n');
    expect(tags).toEqual(['v1']); // crane used the referrers API, so it pushed no sha256-<digest> tag
  });
});
