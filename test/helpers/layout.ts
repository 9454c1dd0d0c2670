/**
 * An OCI image layout written offline with a full image config (labels, env, entrypoint, cmd,
 * history), for tests that look at what a config says. Layers are real gzip'd tars.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name, mtime: new Date(0), uid: 0, gid: 0 }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface RichImage {
  digest: string;
  layers: { digest: string; size: number }[];
  config: Record<string, unknown>;
}

export async function writeRichLayout(dir: string, tag = 'latest'): Promise<RichImage> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer) => {
    const d = sha(b);
    await writeFile(join(blobs, d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const tars = [await tarOf({ 'app/edge-agent': Buffer.alloc(200_000, 7) }), await tarOf({ 'etc/edge/agent.yaml': Buffer.from('mode: edge\n') })];
  const layers = [];
  for (const t of tars) layers.push(await put(gzipSync(t, { level: 1 })));
  const config = {
    created: '2026-11-02T08:30:00Z',
    author: 'edge team',
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: '1000',
      Env: ['PATH=/usr/local/bin:/usr/bin', 'EDGE_MODE=airgap'],
      Entrypoint: ['/app/edge-agent'],
      Cmd: ['--config', '/etc/edge/agent.yaml'],
      WorkingDir: '/app',
      ExposedPorts: { '8080/tcp': {} },
      Labels: { 'org.opencontainers.image.title': 'edge-agent', 'org.opencontainers.image.version': '1.4.2' },
    },
    rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${sha(t)}`) },
    history: [
      { created: '2026-11-02T08:29:00Z', created_by: 'COPY edge-agent /app/edge-agent # buildkit' },
      { created: '2026-11-02T08:29:30Z', created_by: 'COPY agent.yaml /etc/edge/agent.yaml # buildkit' },
      { created: '2026-11-02T08:30:00Z', created_by: 'ENTRYPOINT ["/app/edge-agent"]', empty_layer: true },
    ],
  };
  const cfg = await put(Buffer.from(JSON.stringify(config)));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
    }),
  );
  const m = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return { digest: m.digest, layers, config };
}
