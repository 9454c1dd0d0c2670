/**
 * Online garbage collection: what is kept (tags, index children, referrers of kept subjects, blobs
 * another repository links, anything younger than the delay) and what goes (untagged manifests, their
 * referrers, unlinked blobs), with the bytes reclaimed; a dry run deletes nothing.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { OCI_MANIFEST, blob, desc, imageManifest, indexOf, pushBlob, pushImage, pushManifest } from '../helpers/oci.js';

async function blobFiles(root: string): Promise<number> {
  return (await readdir(join(root, 'blobs'), { recursive: true })).filter((f) => /[0-9a-f]{64}$/.test(f)).length;
}

describe('garbage collection', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.close());
  const req = (...a: Parameters<TestRegistry['request']>) => reg.request(...a);
  const status = async (path: string) => (await req('GET', path)).status;

  it('keeps what is reachable or young, collects the rest, and reports what it reclaimed', async () => {
    const gc = reg.opened.registry.gc;
    const kept = await pushImage(req, 'gc/app', 'v1', { layers: 2 });
    const a = await pushImage(req, 'gc/app', 'amd64');
    const b = await pushImage(req, 'gc/app', 'arm64');
    await pushManifest(req, 'gc/app', 'multi', indexOf([a.manifest, b.manifest]));
    // untag the children: the index still keeps them
    await req('DELETE', '/v2/gc/app/manifests/amd64');
    await req('DELETE', '/v2/gc/app/manifests/arm64');
    // a referrer of the kept image, and one of an image that goes
    const sigConfig = blob(30);
    await pushBlob(req, 'gc/app', sigConfig);
    const sigM = imageManifest(sigConfig, [], { subject: desc(OCI_MANIFEST, kept.manifest) });
    await pushManifest(req, 'gc/app', sigM.digest, sigM);
    const doomed = await pushImage(req, 'gc/app', 'old', { layers: 1 });
    const doomedSigConfig = blob(30);
    await pushBlob(req, 'gc/app', doomedSigConfig);
    const doomedSig = imageManifest(doomedSigConfig, [], { subject: desc(OCI_MANIFEST, doomed.manifest) });
    await pushManifest(req, 'gc/app', doomedSig.digest, doomedSig);
    await req('DELETE', '/v2/gc/app/manifests/old');
    // a blob that no manifest references, and one that another repository still uses
    const stray = blob(5000);
    await pushBlob(req, 'gc/app', stray);
    const shared = blob(700);
    await pushBlob(req, 'gc/app', shared);
    const otherConfig = blob(60);
    await pushBlob(req, 'gc/other', otherConfig);
    await pushBlob(req, 'gc/other', shared);
    await pushManifest(req, 'gc/other', 'v1', imageManifest(otherConfig, [shared])); // gc/other keeps it

    // young: nothing goes within the delay
    const young = await gc.run({ delayMs: 3_600_000, dryRun: false });
    expect(young).toMatchObject({ manifestsDeleted: 0, linksRemoved: 0, blobsDeleted: 0 });

    const files = await blobFiles(reg.root);
    const dry = await gc.run({ delayMs: 0, dryRun: true });
    expect(dry.manifestsDeleted).toBe(2); // the untagged image and its signature
    expect(await blobFiles(reg.root)).toBe(files);
    expect(await status(`/v2/gc/app/manifests/${doomed.manifest.digest}`)).toBe(200);

    const report = await gc.run({ delayMs: 0, dryRun: false });
    expect(report.manifestsDeleted).toBe(2);
    expect(report.linksRemoved).toBe(dry.linksRemoved);
    expect(report.blobsDeleted).toBe(dry.blobsDeleted); // the dry run foresaw the blobs its links would free
    expect(report.bytesReclaimed).toBe(dry.bytesReclaimed);
    expect(report.blobsDeleted).toBeGreaterThanOrEqual(3); // doomed's config + layer, the stray, the doomed signature's config
    expect(report.bytesReclaimed).toBeGreaterThanOrEqual(5000);
    expect(report.manifestBytesDeleted).toBe(2);

    // kept: the tagged image with its blobs, the index and its untagged children, the kept signature
    for (const d of [kept.manifest.digest, a.manifest.digest, b.manifest.digest, sigM.digest]) expect(await status(`/v2/gc/app/manifests/${d}`)).toBe(200);
    for (const l of [kept.config, ...kept.layers, ...a.layers]) expect(await status(`/v2/gc/app/blobs/${l.digest}`)).toBe(200);
    expect(await status(`/v2/gc/other/blobs/${shared.digest}`)).toBe(200);
    // gone
    for (const d of [doomed.manifest.digest, doomedSig.digest]) expect(await status(`/v2/gc/app/manifests/${d}`)).toBe(404);
    expect(await status(`/v2/gc/app/blobs/${stray.digest}`)).toBe(404);
    expect(await status(`/v2/gc/app/blobs/${doomed.layers[0]!.digest}`)).toBe(404);
    const refs = (await req('GET', `/v2/gc/app/referrers/${kept.manifest.digest}`)).json<{ manifests: { digest: string }[] }>();
    expect(refs.manifests.map((m) => m.digest)).toEqual([sigM.digest]);
    // the stray's bytes are really gone, and a second run finds nothing more
    expect(await blobFiles(reg.root)).toBe(files - report.blobsDeleted);
    expect(await gc.run({ delayMs: 0, dryRun: false })).toMatchObject({ manifestsDeleted: 0, linksRemoved: 0, blobsDeleted: 0, manifestBytesDeleted: 0 });
    // pushing a collected blob again works
    await pushBlob(req, 'gc/app', stray);
    expect(await status(`/v2/gc/app/blobs/${stray.digest}`)).toBe(200);
  });
});
