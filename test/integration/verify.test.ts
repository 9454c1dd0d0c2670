/** Scrub: corrupt and missing blobs are found, unlinked ones counted apart; --repair turns bad bytes into clean 404s. */
import { truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode, indexOf, pushBlob, pushImage, pushManifest } from '../helpers/oci.js';
import { parsePlatform } from '../../src/oci/platforms.js';

describe('verify (scrub)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.close());
  const file = (digest: string) => join(reg.root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));

  it('is clean on a healthy store, finds corrupt, missing, wrong-size and stray blobs, and repairs', async () => {
    const req = reg.request;
    const img = await pushImage(req, 'scrub/app', 'v1', { layers: 3 });
    const v = reg.opened.registry.verifier;
    const clean = await v.run(false);
    expect(clean.problems).toEqual([]);
    expect(clean.blobsChecked).toBe(4);
    expect(clean.manifestsChecked).toBe(1);

    const [corrupt, missing, short] = img.layers as [typeof img.layers[0], typeof img.layers[0], typeof img.layers[0]];
    await writeFile(file(corrupt.digest), Buffer.alloc(corrupt.bytes.length, 7)); // same size, wrong bytes
    await unlink(file(missing.digest));
    await truncate(file(short.digest), 10);
    const stray = blob(100);
    await pushBlob(req, 'scrub/tmp', stray);
    await reg.opened.index.unlinkBlob('scrub/tmp', stray.digest);

    const found = await v.run(false);
    const kinds = found.problems.map((p) => `${p.kind} ${p.digest}`).sort();
    expect(kinds).toEqual([`corrupt-blob ${corrupt.digest}`, `corrupt-blob ${short.digest}`, `missing-blob ${missing.digest}`].sort());
    // the unlinked blob is garbage for the collector, counted apart with its bytes
    expect(found.unlinked).toEqual({ blobs: 1, bytes: 100 });
    // before repair a client would get bad bytes for the corrupt layer
    expect((await req('GET', `/v2/scrub/app/blobs/${corrupt.digest}`)).status).toBe(200);

    const repaired = await v.run(true);
    expect(repaired.repaired).toBe(3);
    for (const l of [corrupt, missing, short]) expect(errorCode(await req('GET', `/v2/scrub/app/blobs/${l.digest}`))).toBe('BLOB_UNKNOWN');
    const after = await v.run(false);
    expect([after.problems, after.unlinked]).toEqual([[], { blobs: 1, bytes: 100 }]); // GC's to take
    // the content can be pushed again
    await pushBlob(req, 'scrub/app', corrupt);
    expect((await req('GET', `/v2/scrub/app/blobs/${corrupt.digest}`)).body.equals(corrupt.bytes)).toBe(true);
  });

  it('finds an index whose child is gone, and passes one kept for some platforms on purpose', async () => {
    const req = reg.request;
    const amd = await pushImage(req, 'scrub/multi', 'amd');
    const arm = await pushImage(req, 'scrub/multi', 'arm');
    const index = indexOf([amd.manifest, arm.manifest]);
    await pushManifest(req, 'scrub/multi', 'v1', index);
    const v = reg.opened.registry.verifier;
    expect((await v.run(false)).problems).toEqual([]);
    // the arm64 child deleted by digest while the index still names it: a broken image
    await reg.opened.index.deleteManifest('scrub/multi', arm.manifest.digest);
    expect((await v.run(false)).problems).toEqual([{ kind: 'missing-child', digest: arm.manifest.digest, repository: 'scrub/multi' }]);
    // the same index put for linux/amd64 only: its arm64 child may be absent, its amd64 child may not
    await reg.opened.registry.manifests.put('scrub/multi', 'v1', index.mediaType, index.bytes, { platforms: [parsePlatform('linux/amd64')] });
    expect((await v.run(false)).problems).toEqual([]);
    await reg.opened.index.deleteManifest('scrub/multi', amd.manifest.digest);
    expect((await v.run(false)).problems).toEqual([{ kind: 'missing-child', digest: amd.manifest.digest, repository: 'scrub/multi' }]);
  });
});
