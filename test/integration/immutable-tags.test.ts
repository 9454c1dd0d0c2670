/**
 * storage.immutableTags: a protected tag stays at its first manifest. A push that would move it, by
 * tag or by `?tag=`, and a delete of it or of its manifest are refused in the spec's envelope (DENIED,
 * with berth's message); the same manifest pushed again is accepted; retention passes it by.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnBerth } from '../helpers/spawn.js';
import { SHARED_TOOLS } from '../helpers/tools.js';
import { testDir } from '../helpers/tmp.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, imageManifest, OCI_MANIFEST, pushBlob, pushImage } from '../helpers/oci.js';

describe('immutable tags', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({
      registry: {
        immutableTags: [{ repositories: ['rel/**'], tags: ['v*'] }],
        retention: [{ repositories: ['rel/**'], keepTags: { mostRecentlyPushedCount: 0 } }],
      },
    });
  });
  afterAll(() => reg.close());

  it('keeps a protected tag at its first manifest, accepts the same one again, and lets other tags move', async () => {
    const req = reg.request;
    const first = await pushImage(req, 'rel/app', 'v1');
    const other = await pushImage(req, 'rel/app', 'scratch');
    const moved = await req('PUT', '/v2/rel/app/manifests/v1', { headers: { 'content-type': OCI_MANIFEST }, body: other.manifest.bytes });
    expect([moved.status, errorCode(moved)]).toEqual([403, 'DENIED']);
    expect(moved.json<{ errors: { message: string }[] }>().errors[0]!.message).toBe(
      `tag v1 of rel/app is immutable (storage.immutableTags): it stays at ${first.manifest.digest}; push under a new tag`,
    );
    // by digest with ?tag=: refused as a whole, the manifest is not stored under it either
    const byDigest = await req('PUT', `/v2/rel/app/manifests/${other.manifest.digest}?tag=v2&tag=v1`, { headers: { 'content-type': OCI_MANIFEST }, body: other.manifest.bytes });
    expect(byDigest.status).toBe(403);
    expect((await req('GET', '/v2/rel/app/manifests/v2')).status).toBe(404);
    // the same manifest again: a CI retry
    expect((await req('PUT', '/v2/rel/app/manifests/v1', { headers: { 'content-type': OCI_MANIFEST }, body: first.manifest.bytes })).status).toBe(201);
    expect((await req('HEAD', '/v2/rel/app/manifests/v1')).headers['docker-content-digest']).toBe(first.manifest.digest);
    // a tag no rule names moves as ever; so does a protected name in another repository
    expect((await req('PUT', '/v2/rel/app/manifests/scratch', { headers: { 'content-type': OCI_MANIFEST }, body: first.manifest.bytes })).status).toBe(201);
    await pushImage(req, 'dev/app', 'v1');
    const next = await pushImage(req, 'dev/app', 'v1'); // moves it
    expect((await req('HEAD', '/v2/dev/app/manifests/v1')).headers['docker-content-digest']).toBe(next.manifest.digest);
  });

  it('refuses to delete a protected tag or the manifest it names', async () => {
    const req = reg.request;
    const img = await pushImage(req, 'rel/db', 'v3.1');
    const byTag = await req('DELETE', '/v2/rel/db/manifests/v3.1');
    expect([byTag.status, errorCode(byTag)]).toEqual([403, 'DENIED']);
    const byDigest = await req('DELETE', `/v2/rel/db/manifests/${img.manifest.digest}`);
    expect([byDigest.status, errorCode(byDigest)]).toEqual([403, 'DENIED']);
    expect(byDigest.json<{ errors: { message: string }[] }>().errors[0]!.message).toMatch(/v3\.1 of rel\/db is immutable/);
    expect((await req('HEAD', '/v2/rel/db/manifests/v3.1')).status).toBe(200);
  });

  it('is passed by by retention (and so by garbage collection), which takes the other tags', async () => {
    const req = reg.request;
    const cfg = blob(50);
    await pushBlob(req, 'rel/ret', cfg);
    const m = imageManifest(cfg, []);
    for (const t of ['v9', 'nightly']) {
      expect((await req('PUT', `/v2/rel/ret/manifests/${t}`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes })).status).toBe(201);
    }
    const report = await reg.opened.registry.retention.run(false);
    const here = report.tagsDeleted.filter((t) => t.repository === 'rel/ret').map((t) => t.tag);
    expect(here).toEqual(['nightly']);
    await reg.opened.registry.gc.run({ delayMs: 0, dryRun: false });
    expect((await req('GET', '/v2/rel/ret/manifests/v9', { headers: { accept: OCI_MANIFEST } })).status).toBe(200);
  });
});

describe('immutable tags from the command line', () => {
  it('are kept by `berth import` into a stopped root, as by a running berth', async () => {
    const dir = await testDir('berth-immutable-cli-');
    const config = join(dir, 'berth.yaml');
    await writeFile(config, JSON.stringify({ storage: { root: join(dir, 'root'), immutableTags: [{ repositories: ['rel/**'], tags: ['v*'] }] } }));
    /** An OCI layout whose one image is tagged v1; `size` makes each one's digest its own. */
    const layout = async (name: string, size: number) => {
      const out = join(dir, name);
      execFileSync('bash', [join(SHARED_TOOLS, 'mkoci.sh'), 'image', out, String(size), '1']);
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
      index.manifests[0].annotations = { 'org.opencontainers.image.ref.name': 'v1' };
      await writeFile(join(out, 'index.json'), JSON.stringify(index));
      return { dir: out, digest: index.manifests[0].digest as string };
    };
    const first = await layout('first', 16);
    const second = await layout('second', 24);
    const ok = await runCli(['import', first.dir, '--config', config, '--repository', 'rel/app']);
    expect(ok.code, ok.out).toBe(0);
    const moved = await runCli(['import', second.dir, '--config', config, '--repository', 'rel/app']);
    expect(moved.code, moved.out).not.toBe(0);
    expect(moved.stderr).toContain(`tag v1 of rel/app is immutable (storage.immutableTags): it stays at ${first.digest}`);
    const berth = await spawnBerth({ root: join(dir, 'root'), args: ['--config', config] });
    try {
      const r = await fetch(`${berth.url}/v2/rel/app/manifests/v1`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } });
      expect(r.headers.get('docker-content-digest')).toBe(first.digest);
    } finally {
      await berth.stop();
    }
  });
});
