/** Load generation: an undici pool per server, a bounded-concurrency runner, and the push steps. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Pool } from 'undici';

export function pool(url: string, connections: number): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 0, headersTimeout: 0 });
}

/** Runs fn(0..total-1) with at most `concurrency` in flight; returns elapsed seconds. */
export async function runConcurrent(total: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = process.hrtime.bigint();
  const worker = async () => {
    while (next < total) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function expectStatus(res: { statusCode: number; body: { text(): Promise<string>; dump(): Promise<void> } }, want: number, what: string): Promise<void> {
  if (res.statusCode !== want) throw new Error(`${what}: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
  await res.body.dump();
}

export async function openSession(p: Pool, repo: string): Promise<string> {
  const res = await p.request({ method: 'POST', path: `/v2/${repo}/blobs/uploads/` });
  await expectStatus(res, 202, 'POST upload');
  return locationPath(String(res.headers.location));
}

/** A Location header as a path with its query (servers may answer with an absolute URL). */
export function locationPath(loc: string): string {
  if (!loc.startsWith('http')) return loc;
  const u = new URL(loc);
  return u.pathname + u.search;
}

export function withDigest(loc: string, digest: string): string {
  return `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** Monolithic push as clients do it (POST, then PUT ?digest= with the body). */
export async function pushBytes(p: Pool, repo: string, bytes: Buffer, digest = sha256(bytes)): Promise<void> {
  const loc = await openSession(p, repo);
  const res = await p.request({
    method: 'PUT',
    path: withDigest(loc, digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
  });
  await expectStatus(res, 201, 'PUT blob');
}

/** A large body: a unique prefix then a file's bytes [start, end), streamed with 1 MiB reads. */
export interface BigBody {
  prefix: Buffer;
  file: string;
  size: number; // bytes from the file
  digest: string; // of prefix + file
}

export async function bigBody(file: string, size: number): Promise<BigBody> {
  const prefix = randomBytes(32);
  const h = createHash('sha256').update(prefix);
  for await (const c of createReadStream(file, { start: 0, end: size - 1, highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return { prefix, file, size, digest: `sha256:${h.digest('hex')}` };
}

function bodyStream(b: BigBody, from: number, to: number): Readable {
  // Bytes [from, to) of prefix + file.
  async function* gen() {
    const pl = b.prefix.length;
    if (from < pl) yield b.prefix.subarray(from, Math.min(to, pl));
    if (to > pl) {
      const start = Math.max(from - pl, 0);
      yield* createReadStream(b.file, { start, end: to - pl - 1, highWaterMark: 1 << 20 });
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

/** POST, then one PUT ?digest= streaming the whole body: returns seconds. */
export async function pushStream(p: Pool, repo: string, b: BigBody): Promise<number> {
  const total = b.prefix.length + b.size;
  const t = process.hrtime.bigint();
  const loc = await openSession(p, repo);
  const res = await p.request({
    method: 'PUT',
    path: withDigest(loc, b.digest),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) },
    body: bodyStream(b, 0, total),
  });
  await expectStatus(res, 201, 'PUT stream');
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function manifestBytes(config: { digest: string; size: number }, layer: { digest: string; size: number }, note: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      annotations: { 'org.example.note': note },
    }),
  );
}

export async function putManifest(p: Pool, repo: string, ref: string, bytes: Buffer): Promise<void> {
  const res = await p.request({
    method: 'PUT',
    path: `/v2/${repo}/manifests/${ref}`,
    headers: { 'content-type': OCI_MANIFEST, 'content-length': String(bytes.length) },
    body: bytes,
  });
  await expectStatus(res, 201, 'PUT manifest');
}

export async function mount(p: Pool, repo: string, from: string, digest: string): Promise<void> {
  const res = await p.request({ method: 'POST', path: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` });
  await expectStatus(res, 201, 'mount');
}

/** Median latency in ms of `n` sequential GETs of path. */
export async function latency(p: Pool, path: string, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await p.request({ method: 'GET', path });
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}`);
    await res.body.arrayBuffer(); // read it all: the whole response is what a client waits for
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
