/**
 * Streams, not buffers: a 1 GiB blob pushed through a session (chunked PATCH, as podman and crane
 * send it) must not raise the server's resident memory above 200 MiB, on the default engines and with
 * the blobs in S3 and the metadata in PostgreSQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { chunkedRequest } from '../helpers/http.js';
import { ENGINES, engineArgs } from '../helpers/engines.js';
import { testDirPersistent } from '../helpers/tmp.js';

const GiB = 1024 * 1024 * 1024;
const LIMIT = 200 * 1024 * 1024;

describe.each(ENGINES)('memory during a 1 GiB upload (%s engines)', (engine) => {
  let berth: Berth;
  beforeAll(async () => {
    berth = await spawnBerth({ args: await engineArgs(engine, await testDirPersistent('berth-mem-')) });
  });
  afterAll(() => berth.stop());

  it('keeps the server under 200 MiB resident while it receives, hashes and stores 1 GiB', async () => {
    const unit = randomBytes(1024 * 1024);
    const hash = createHash('sha256');
    async function* body() {
      for (let i = 0; i < GiB / unit.length; i++) {
        unit.writeUInt32BE(i, 0); // every MiB differs
        const chunk = Buffer.from(unit);
        hash.update(chunk);
        yield chunk;
      }
    }
    let maxRss = 0;
    const sampler = setInterval(() => {
      berth.memory().then((m) => (maxRss = Math.max(maxRss, m.rss)), () => undefined);
    }, 50);
    try {
      const post = await fetch(`${berth.url}/v2/big/blobs/uploads/`, { method: 'POST' });
      const loc = post.headers.get('location')!;
      const patch = await chunkedRequest(berth.url + loc, 'PATCH', body());
      expect(patch.status).toBe(202);
      expect(patch.headers.range).toBe(`0-${GiB - 1}`);
      const digest = `sha256:${hash.digest('hex')}`;
      const put = await fetch(`${berth.url}${loc}?digest=${digest}`, { method: 'PUT' });
      expect(put.status).toBe(201);
      const head = await fetch(`${berth.url}/v2/big/blobs/${digest}`, { method: 'HEAD' });
      expect(head.headers.get('content-length')).toBe(String(GiB));
    } finally {
      clearInterval(sampler);
    }
    const { peak } = await berth.memory();
    console.log(`1 GiB upload (${engine} engines): server peak RSS ${(peak / 1048576).toFixed(1)} MiB, max sampled ${(maxRss / 1048576).toFixed(1)} MiB`);
    expect(maxRss).toBeGreaterThan(0);
    expect(peak).toBeLessThan(LIMIT);
  }, 180_000);
});
