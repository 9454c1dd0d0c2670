/**
 * The node-start storm: a cluster reboots with AlwaysPullImages off and every node pulls the same
 * image at once. Each client is one curl process on one keep-alive connection that fetches, in order,
 * the manifest, the config and every layer (as containerd does for one image), and reports each
 * response's status and size; every one is checked. Timed from the first request to the last byte.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { OCI_MANIFEST, bigBody, pushStream, putManifest, pushBytes, sha256 } from './load.js';
import { usage, type Server } from './servers.js';
import type { Pool } from 'undici';

const run = promisify(execFile);
const MiB = 1024 * 1024;

export interface StormImage {
  repo: string;
  /** What each client fetches, in order, with the size each answer must have. */
  paths: { path: string; size: number; accept?: string }[];
  bytes: number;
}

/** Layer sizes of the storm's image: 6 layers of 8-58 MiB, 198 MiB in all (quick: 1-6 MiB). */
export function stormLayers(quick: boolean): number[] {
  return quick ? [1, 2, 3, 4, 5, 6].map((m) => m * MiB) : [8, 18, 28, 38, 48, 58].map((m) => m * MiB);
}

/** Pushes the storm's image (config, layers, manifest) to one server. */
export async function setupStorm(p: Pool, dataFile: string, layers: number[]): Promise<StormImage> {
  const repo = 'bench/storm/app';
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, note: randomBytes(8).toString('hex') }));
  await pushBytes(p, repo, config);
  const descs = [];
  for (const size of layers) {
    const body = await bigBody(dataFile, size - 32); // with its unique 32-byte prefix: `size` in all
    await pushStream(p, repo, body);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: body.digest, size });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: descs,
    }),
  );
  await putManifest(p, repo, 'v1', manifest);
  return {
    repo,
    bytes: manifest.length + config.length + layers.reduce((a, b) => a + b, 0),
    paths: [
      { path: `/v2/${repo}/manifests/v1`, size: manifest.length, accept: OCI_MANIFEST },
      { path: `/v2/${repo}/blobs/${sha256(config)}`, size: config.length },
      ...descs.map((d) => ({ path: `/v2/${repo}/blobs/${d.digest}`, size: d.size })),
    ],
  };
}

/** One client: one curl, one connection, every path in order; throws unless each answer is 200 with the right size. */
async function client(server: Server, image: StormImage): Promise<void> {
  const args = ['-s', '--http1.1', '-H', `Accept: ${OCI_MANIFEST}`, '-w', '%{http_code} %{size_download}\\n'];
  for (const p of image.paths) args.push('-o', '/dev/null', `${server.url}${p.path}`);
  const { stdout } = await run('curl', args, { timeout: 600_000 });
  const lines = stdout.trim().split('\n');
  if (lines.length !== image.paths.length) throw new Error(`storm: ${lines.length} answers for ${image.paths.length} requests`);
  lines.forEach((line, i) => {
    const want = `200 ${image.paths[i]!.size}`;
    if (line !== want) throw new Error(`storm: ${image.paths[i]!.path}: got "${line}", want "${want}"`);
  });
}

/** `clients` concurrent pulls of the image: wall seconds and the server's CPU seconds over them. */
export async function storm(server: Server, image: StormImage, clients: number): Promise<{ stormWall: number; stormCpu: number }> {
  const cpu0 = (await usage(server.pid)).cpuSeconds;
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, () => client(server, image)));
  const stormWall = Number(process.hrtime.bigint() - t) / 1e9;
  return { stormWall, stormCpu: (await usage(server.pid)).cpuSeconds - cpu0 };
}
