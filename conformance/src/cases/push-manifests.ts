/** distribution-spec v1.1 "Push", manifests: end-7, with OCI and Docker media types and the 4 MiB rule. */
import { check, errorEnvelope, header, status } from '../check.js';
import {
  DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
  blob, descriptor, image, manifest,
} from '../content.js';
import type { Case } from '../context.js';

export const pushManifestCases: Case[] = [
  {
    workflow: 'push',
    name: 'PUT a manifest by tag: 201 with Location and Docker-Content-Digest',
    async run(ctx) {
      const repo = ctx.repo('manifest-tag');
      const config = blob(64);
      await ctx.pushBlob(repo, config);
      const m = image(config, []);
      const r = await ctx.req('PUT', `/v2/${repo}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
      status(r, 201);
      header(r, 'location');
      header(r, 'docker-content-digest', m.digest);
    },
  },
  {
    workflow: 'push',
    name: 'PUT a manifest by digest: 201',
    async run(ctx) {
      const repo = ctx.repo('manifest-digest');
      const config = blob(64);
      await ctx.pushBlob(repo, config);
      const m = image(config, []);
      status(await ctx.req('PUT', `/v2/${repo}/manifests/${m.digest}`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes }), 201);
      status(await ctx.req('HEAD', `/v2/${repo}/manifests/${m.digest}`), 200);
    },
  },
  {
    workflow: 'push',
    name: 'an OCI image index whose children were pushed: 201, served back byte for byte',
    async run(ctx) {
      const repo = ctx.repo('manifest-index');
      const a = await ctx.pushImage(repo, 'amd64');
      const b = await ctx.pushImage(repo, 'arm64');
      const idx = manifest(
        {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            descriptor(OCI_MANIFEST, a.manifest, { platform: { architecture: 'amd64', os: 'linux' } }),
            descriptor(OCI_MANIFEST, b.manifest, { platform: { architecture: 'arm64', os: 'linux' } }),
          ],
        },
        OCI_INDEX,
      );
      await ctx.pushManifest(repo, 'multi', idx);
      const g = await ctx.req('GET', `/v2/${repo}/manifests/multi`, { headers: { accept: OCI_INDEX } });
      status(g, 200);
      header(g, 'content-type', OCI_INDEX);
      check(g.body.equals(idx.bytes), 'index bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'Docker schema 2 manifest and manifest list: 201, served with their media types',
    async run(ctx) {
      const repo = ctx.repo('manifest-docker');
      const config = blob(64);
      const layer = blob(512);
      await ctx.pushBlob(repo, config);
      await ctx.pushBlob(repo, layer);
      const m = manifest(
        {
          schemaVersion: 2,
          mediaType: DOCKER_MANIFEST,
          config: descriptor('application/vnd.docker.container.image.v1+json', config),
          layers: [descriptor('application/vnd.docker.image.rootfs.diff.tar.gzip', layer)],
        },
        DOCKER_MANIFEST,
      );
      await ctx.pushManifest(repo, 'v1', m);
      const list = manifest(
        { schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [descriptor(DOCKER_MANIFEST, m, { platform: { architecture: 'amd64', os: 'linux' } })] },
        DOCKER_LIST,
      );
      await ctx.pushManifest(repo, 'list', list);
      const g = await ctx.req('GET', `/v2/${repo}/manifests/v1`, { headers: { accept: DOCKER_MANIFEST } });
      header(g, 'content-type', DOCKER_MANIFEST);
      check(g.body.equals(m.bytes), 'manifest bytes differ');
      const gl = await ctx.req('GET', `/v2/${repo}/manifests/list`, { headers: { accept: DOCKER_LIST } });
      header(gl, 'content-type', DOCKER_LIST);
    },
  },
  {
    workflow: 'push',
    name: 'a manifest whose layer was never pushed: MANIFEST_BLOB_UNKNOWN',
    async run(ctx) {
      const repo = ctx.repo('manifest-missing');
      const config = blob(64);
      await ctx.pushBlob(repo, config);
      const m = image(config, [blob(100)]);
      const r = await ctx.req('PUT', `/v2/${repo}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
      errorEnvelope(r, [400, 404], ['MANIFEST_BLOB_UNKNOWN']);
    },
  },
  {
    workflow: 'push',
    name: 'a manifest that is not JSON: 400 MANIFEST_INVALID',
    async run(ctx) {
      const repo = ctx.repo('manifest-invalid');
      await ctx.pushBlob(repo, blob(10));
      const r = await ctx.req('PUT', `/v2/${repo}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body: '{"schemaVersion": 2,' });
      errorEnvelope(r, [400], ['MANIFEST_INVALID']);
    },
  },
  {
    workflow: 'push',
    name: 'a PUT by digest whose body has another digest: 400 DIGEST_INVALID',
    async run(ctx) {
      const repo = ctx.repo('manifest-wrongdigest');
      const config = blob(64);
      await ctx.pushBlob(repo, config);
      const m = image(config, []);
      const other = image(config, [], { annotations: { x: 'y' } });
      const r = await ctx.req('PUT', `/v2/${repo}/manifests/${other.digest}`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
      errorEnvelope(r, [400], ['DIGEST_INVALID']);
    },
  },
  {
    workflow: 'push',
    name: 'a manifest of almost 4 MiB is accepted (spec: registries SHOULD accept at least 4 MiB)',
    async run(ctx) {
      const repo = ctx.repo('manifest-4mib');
      const config = blob(64);
      await ctx.pushBlob(repo, config);
      const base = image(config, [], { annotations: { pad: '' } }).bytes.length;
      const m = image(config, [], { annotations: { pad: 'x'.repeat(4 * 1024 * 1024 - base - 64) } });
      check(m.bytes.length < 4 * 1024 * 1024, 'test manifest is too large');
      await ctx.pushManifest(repo, 'v1', m);
      check((await ctx.req('GET', `/v2/${repo}/manifests/v1`)).body.equals(m.bytes), 'manifest bytes differ');
    },
  },
  {
    workflow: 'push',
    name: 'a manifest over 4 MiB: accepted, or refused with 413 and an error envelope',
    async run(ctx) {
      const repo = ctx.repo('manifest-big');
      const config = blob(64);
      await ctx.pushBlob(repo, config);
      const m = image(config, [], { annotations: { pad: 'x'.repeat(4 * 1024 * 1024 + 1) } });
      const r = await ctx.req('PUT', `/v2/${repo}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body: m.bytes });
      if (r.status !== 201) errorEnvelope(r, [413], ['SIZE_INVALID', 'MANIFEST_INVALID']);
    },
  },
  {
    workflow: 'push',
    name: 'a tag moves to the manifest pushed last',
    async run(ctx) {
      const repo = ctx.repo('manifest-retag');
      await ctx.pushImage(repo, 'latest');
      const second = await ctx.pushImage(repo, 'latest');
      header(await ctx.req('HEAD', `/v2/${repo}/manifests/latest`), 'docker-content-digest', second.manifest.digest);
    },
  },
];
