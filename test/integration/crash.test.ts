/**
 * Crash safety: concurrent pushers of random images while the server is killed with SIGKILL at random
 * moments, over several rounds. After every restart, every manifest that got a 201 must be there by
 * tag and by digest, every blob it references must hash to its digest, and no temp file may be left.
 * On the default engines, and with the blobs in S3 and the metadata in PostgreSQL.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { CLI, spawnBerth, type Berth } from '../helpers/spawn.js';
import { ENGINES, engineArgs } from '../helpers/engines.js';

const ROUNDS = 5;
const PUSHERS = 4;
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Acked {
  repo: string;
  tag: string;
  digest: string;
  blobs: string[];
}

async function pushBlob(url: string, repo: string, bytes: Buffer): Promise<string> {
  const d = sha(bytes);
  const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${d}`, { method: 'POST', body: bytes });
  if (r.status !== 201) throw new Error(`blob ${r.status}`);
  return d;
}

async function pusher(url: string, id: number, acked: Acked[], stop: { now: boolean }): Promise<void> {
  for (let i = 0; !stop.now; i++) {
    try {
      const repo = `crash/p${id}`;
      const config = Buffer.from(JSON.stringify({ n: randomBytes(8).toString('hex') }));
      const layers = [randomBytes(randomInt(1, 200_000)), randomBytes(randomInt(1, 200_000))];
      const digests = [await pushBlob(url, repo, config), ...(await Promise.all(layers.map((l) => pushBlob(url, repo, l))))];
      const m = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digests[0], size: config.length },
          layers: layers.map((l, j) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digests[j + 1], size: l.length })),
        }),
      );
      const tag = `t${id}-${Date.now()}-${i}`;
      const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI }, body: m });
      if (r.status === 201) acked.push({ repo, tag, digest: sha(m), blobs: digests });
    } catch {
      return; // the server is gone
    }
  }
}

describe.each(ENGINES)('crash safety (SIGKILL during concurrent pushes, %s engines)', (engine) => {
  it(`keeps every acknowledged manifest and blob over ${ROUNDS} kills`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-crash-'));
    const args = await engineArgs(engine, root);
    const acked: Acked[] = [];
    let berth: Berth | undefined;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        berth = await spawnBerth({ root, args });
        // restarted: no temp file survives (S3 has none: an unfinished upload is no object), and
        // everything acknowledged so far is intact
        if (engine === 'default') expect(await readdir(join(root, 'tmp'))).toEqual([]);
        for (const a of acked) {
          const byTag = await fetch(`${berth.url}/v2/${a.repo}/manifests/${a.tag}`, { headers: { accept: OCI } });
          expect(byTag.status, `${a.repo}:${a.tag} after kill ${round - 1}`).toBe(200);
          expect(sha(Buffer.from(await byTag.arrayBuffer()))).toBe(a.digest);
          expect((await fetch(`${berth.url}/v2/${a.repo}/manifests/${a.digest}`, { method: 'HEAD' })).status).toBe(200);
          for (const d of a.blobs) {
            const b = await fetch(`${berth.url}/v2/${a.repo}/blobs/${d}`);
            expect(b.status, d).toBe(200);
            expect(sha(Buffer.from(await b.arrayBuffer()))).toBe(d);
          }
        }
        if (round === ROUNDS) break;
        const stop = { now: false };
        const before = acked.length;
        const running = Array.from({ length: PUSHERS }, (_, i) => pusher(berth!.url, i, acked, stop));
        await new Promise((r) => setTimeout(r, randomInt(600, 1800)));
        berth.child.kill('SIGKILL');
        await new Promise((r) => berth!.child.once('exit', r));
        stop.now = true;
        await Promise.all(running);
        expect(acked.length, `round ${round} acknowledged nothing`).toBeGreaterThan(before);
      }
      // and the store and the index agree: `berth verify` on the stopped root exits 0 and finds no
      // problem; blobs renamed into place by requests killed before they linked them are counted apart
      // (garbage collection's to take)
      await berth!.stop();
      const { code, out } = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(CLI, ['verify', '--root', root, ...args], (e, stdout) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout })),
      );
      const report = JSON.parse(out) as { blobsChecked: number; problems: { kind: string }[]; unlinked: { blobs: number; bytes: number } };
      expect([code, report.problems]).toEqual([0, []]);
      console.log(`crash test (${engine} engines): ${ROUNDS - 1} SIGKILLs, ${acked.length} acknowledged images (${acked.length * 3} blobs) all intact; verify checked ${report.blobsChecked} blobs, ${report.unlinked.blobs} unlinked (${report.unlinked.bytes} bytes)`);
    } finally {
      if (berth && berth.child.exitCode === null) await berth.stop();
      await rm(root, { recursive: true, force: true });
    }
  }, 240_000);
});
