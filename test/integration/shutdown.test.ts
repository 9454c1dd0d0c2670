/**
 * Graceful shutdown (issue 8): SIGTERM during a 256 MiB upload stops new connections but lets the
 * upload finish (201, blob stored), then the process exits 0; a second signal would exit at once.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';

describe('graceful shutdown', () => {
  it('lets a 256 MiB upload that is under way finish after SIGTERM', async () => {
    const berth = await spawnBerth();
    const size = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024);
    const h = createHash('sha256');
    for (let i = 0; i < size / chunk.length; i++) {
      chunk.writeUInt32BE(i, 0);
      h.update(chunk);
    }
    const digest = `sha256:${h.digest('hex')}`;
    const { port } = new URL(berth.url);
    const exited = new Promise<number | null>((r) => berth.child.once('exit', (code) => r(code)));
    let signalled = false;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: `/v2/big/blob/blobs/uploads/?digest=${digest}`, headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      let i = 0;
      const write = () => {
        // ~64 MiB/s: the upload takes about 4 s; SIGTERM arrives after the first 32 MiB
        for (let n = 0; n < 4 && i < size / chunk.length; n++, i++) {
          chunk.writeUInt32BE(i, 0);
          req.write(Buffer.from(chunk));
        }
        if (i === 32 && !signalled) {
          signalled = true;
          berth.child.kill('SIGTERM');
        }
        if (i < size / chunk.length) setTimeout(write, 60);
        else req.end();
      };
      write();
    });
    expect(signalled).toBe(true);
    expect(status).toBe(201);
    expect(await exited).toBe(0);
    expect(berth.log()).toMatch(/"signal":"SIGTERM"/);
    // no new connections once shutting down; the stored blob is there on the next start
    const again = await spawnBerth({ root: berth.root });
    try {
      const r = await fetch(`${again.url}/v2/big/blob/blobs/${digest}`, { method: 'HEAD' });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-length')).toBe(String(size));
    } finally {
      await again.stop();
      await berth.stop();
    }
  }, 120_000);
});
