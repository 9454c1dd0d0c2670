/** Limits (issue 8) on a spawned `berth serve`: header size, idle clients, concurrent uploads, rate limit. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { blob } from '../helpers/oci.js';

/** Sends raw bytes on a new connection; resolves with everything the server sent before closing. */
function raw(port: number, data: string, waitMs = 10_000): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = connect(port, '127.0.0.1', () => s.write(data));
    let text = '';
    s.on('data', (d) => (text += d.toString()));
    s.on('close', () => resolve({ text, ms: Date.now() - started }));
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), waitMs);
  });
}

describe('limits', () => {
  it('refuses big headers, drops idle clients, caps concurrent uploads and rate-limits, each with the spec code', async () => {
    const dir = await testDir('berth-limits-');
    const config = join(dir, 'berth.yaml');
    await writeFile(config, 'http:\n  limits: {headerBytes: 2048, idleTimeout: 2s, maxConcurrentUploads: 1, rateLimit: {max: 40, window: 3s}}\n');
    const berth = await spawnBerth({ args: ['--config', config] });
    const port = Number(new URL(berth.url).port);
    try {
      // headers over 2 KiB: 431 with the error envelope
      const big = await raw(port, `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`);
      expect(big.text).toMatch(/^HTTP\/1.1 431/);
      expect(JSON.parse(big.text.slice(big.text.indexOf('\r\n\r\n') + 4)).errors[0].code).toBe('SIZE_INVALID');
      // a client that stops sending mid-head is cut off after the idle timeout
      const idle = await raw(port, 'GET /v2/ HTTP/1.1\r\nHost: x\r\n');
      expect(idle.ms).toBeGreaterThanOrEqual(1500);
      expect(idle.ms).toBeLessThan(8000);
      // one upload body at a time: a second one gets 429 TOOMANYREQUESTS with Retry-After
      const b = blob(1024 * 1024);
      let release!: () => void;
      const first = new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/v2/lim/app/blobs/uploads/?digest=${b.digest}`, headers: { 'content-length': String(b.bytes.length) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.write(b.bytes.subarray(0, 1000));
        release = () => req.end(b.bytes.subarray(1000));
      });
      await new Promise((r) => setTimeout(r, 300));
      const second = await fetch(`${berth.url}/v2/lim/other/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes });
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(((await second.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
      release();
      expect(await first).toBe(201);
      const third = await fetch(`${berth.url}/v2/lim/other/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes });
      expect(third.status).toBe(201);
      // 40 requests per 3 s per client: the rest get 429 with Retry-After; probes are never limited
      const statuses: number[] = [];
      for (let i = 0; i < 45; i++) {
        const r = await fetch(`${berth.url}/v2/`);
        statuses.push(r.status);
        if (r.status === 429) {
          expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
        } else await r.arrayBuffer();
      }
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect((await fetch(`${berth.url}/livez`)).status).toBe(200);
    } finally {
      await berth.stop();
    }
  });
});
