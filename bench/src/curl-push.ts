/**
 * The large pushes, sent by curl from files as a real pusher sends a layer it has on disk.
 *
 * The bench's own Node client (undici, bodies streamed through JavaScript) spent 0.3-0.5 CPU
 * seconds per 256 MiB on the same 2 cores as the servers; curl spends about 0.1. The pulls and the
 * storm use curl for the same reason.
 *
 * Each body lives in files made once per run (a single-stream body in one file, a chunked body in
 * one file per PATCH). Before each push, `stamp()` writes 32 fresh random bytes at its start and
 * hashes it again, so no server can answer from a blob it already holds; the files stay in the page
 * cache, so every push reads them from memory on both sides.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'undici';
import { locationPath, openSession, withDigest } from './load.js';

const run = promisify(execFile);

export class PushBody {
  digest = '';

  private constructor(
    /** In upload order; one file for a single-stream push, one per PATCH for a chunked one. */
    readonly parts: { path: string; size: number }[],
  ) {}

  get size(): number {
    return this.parts.reduce((a, p) => a + p.size, 0);
  }

  /** `size` bytes of `source` copied into files of at most `partSize` bytes each, under `dir`. */
  static async make(source: string, size: number, dir: string, name: string, partSize = size): Promise<PushBody> {
    const parts: { path: string; size: number }[] = [];
    const src = await open(source, 'r');
    try {
      const buf = Buffer.alloc(Math.min(partSize, 16 * 1024 * 1024));
      for (let off = 0, i = 0; off < size; off += partSize, i++) {
        const part = { path: join(dir, `${name}.${i}`), size: Math.min(partSize, size - off) };
        const out = await open(part.path, 'w');
        try {
          for (let done = 0; done < part.size; ) {
            const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, part.size - done), off + done);
            if (bytesRead === 0) throw new Error(`${source} is shorter than ${size} bytes`);
            await out.write(buf, 0, bytesRead);
            done += bytesRead;
          }
        } finally {
          await out.close();
        }
        parts.push(part);
      }
    } finally {
      await src.close();
    }
    return new PushBody(parts);
  }

  /** New first 32 bytes, and the digest of the whole body with them. */
  async stamp(): Promise<void> {
    const fh = await open(this.parts[0]!.path, 'r+');
    try {
      await fh.write(randomBytes(32), 0, 32, 0);
    } finally {
      await fh.close();
    }
    const h = createHash('sha256');
    for (const p of this.parts) for await (const c of createReadStream(p.path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
    this.digest = `sha256:${h.digest('hex')}`;
  }
}

/** curl sending one file; returns what it printed: the headers, then the status code. */
async function curlUpload(method: string, url: string, file: string, headers: string[]): Promise<{ status: number; location?: string }> {
  const args = ['-s', '--http1.1', '-D', '-', '-o', '/dev/null', '-w', '%{http_code}', '-X', method, '-T', file];
  // curl would send "Expect: 100-continue" and wait for the interim answer; Go and Node clients do not.
  for (const h of ['Expect:', 'Content-Type: application/octet-stream', ...headers]) args.push('-H', h);
  args.push(url);
  const { stdout } = await run('curl', args, { timeout: 600_000, maxBuffer: 1 << 20 });
  const lines = stdout.split('\r\n');
  const location = lines.find((l) => l.toLowerCase().startsWith('location:'))?.slice('location:'.length).trim();
  return { status: Number(lines.at(-1)), location };
}

/** POST, then one PUT ?digest= with the whole body from its file: returns seconds. */
export async function curlPushStream(p: Pool, server: string, repo: string, b: PushBody): Promise<number> {
  if (b.parts.length !== 1) throw new Error('a single-stream push sends one file');
  const t = process.hrtime.bigint();
  const loc = await openSession(p, repo);
  const res = await curlUpload('PUT', `${server}${withDigest(loc, b.digest)}`, b.parts[0]!.path, []);
  if (res.status !== 201) throw new Error(`PUT stream: HTTP ${res.status}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/**
 * POST, one PATCH with Content-Range per part, then PUT ?digest=: returns seconds. `split`, when
 * given, gets the final PUT's own seconds (where a store that rebuilds the session's hash reads it back).
 */
export async function curlPushChunked(p: Pool, server: string, repo: string, b: PushBody, split?: { finalPut: number }): Promise<number> {
  const t = process.hrtime.bigint();
  let loc = await openSession(p, repo);
  let off = 0;
  for (const part of b.parts) {
    const res = await curlUpload('PATCH', `${server}${loc}`, part.path, [`Content-Range: ${off}-${off + part.size - 1}`]);
    if (res.status !== 202 || !res.location) throw new Error(`PATCH: HTTP ${res.status}`);
    loc = locationPath(res.location);
    off += part.size;
  }
  const put = process.hrtime.bigint();
  const res = await p.request({ method: 'PUT', path: withDigest(loc, b.digest) });
  await res.body.dump();
  if (res.statusCode !== 201) throw new Error(`PUT chunked: HTTP ${res.statusCode}`);
  const end = process.hrtime.bigint();
  if (split) split.finalPut = Number(end - put) / 1e9;
  return Number(end - t) / 1e9;
}
