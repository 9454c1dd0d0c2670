/**
 * One upstream fetch per missing blob, even when a second request's local check ends only after the
 * first request's fetch has started (and its single-flight run is over): the real store and index
 * in a temp dir, a stand-in upstream that counts its GETs, and the second request's stat() held back
 * until the first fetch is under way.
 */
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openRegistry } from '../../../src/open.js';
import { PullThrough } from '../../../src/mirror/pull-through.js';
import type { Upstream } from '../../../src/mirror/upstream.js';
import type { BlobStore } from '../../../src/storage/blobstore.js';
import { testDir } from '../../helpers/tmp.js';

describe('pull-through blob fetch', () => {
  it('joins a fetch that started while its own local check was running', async () => {
    const opened = await openRegistry({ root: await testDir('berth-pt-race-'), fsync: false });
    try {
      const bytes = Buffer.alloc(4 * 1024 * 1024, 7);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      let gets = 0;
      let fetching!: () => void;
      const fetchStarted = new Promise<void>((r) => (fetching = r));
      const upstream = {
        host: 'up.example',
        breaker: { closed: true, allow: () => true },
        async get(method: string) {
          if (method === 'GET') {
            gets++;
            fetching();
          }
          const body = Object.assign(Readable.from([bytes]), { dump: async () => undefined });
          return { statusCode: method === 'GET' ? 200 : 404, headers: { 'content-length': String(bytes.length) }, body };
        },
      } as unknown as Upstream;
      // the second stat() (the second request's local check) waits until the first fetch is running
      let stats = 0;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const store = new Proxy(opened.blobs, {
        get(target, prop, receiver) {
          if (prop === 'stat') {
            return async (d: Parameters<BlobStore['stat']>[0]) => {
              if (++stats === 2) await held;
              return target.stat(d);
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const pt = new PullThrough(opened.registry, store, opened.index, new Map([['up.example', upstream]]), { tagTTLms: 60_000, online: true });
      const remote = { host: 'up.example', repo: 'lib/app' };
      const read = async () => {
        const { blob } = await pt.blob('mirror/lib/app', remote, digest);
        let n = 0;
        for await (const c of blob.stream()) n += (c as Buffer).length;
        return n;
      };
      const first = read();
      const second = read();
      // (not a poll of fetchesInProgress: on a busy machine the whole fetch may end between two polls)
      await fetchStarted;
      await new Promise((r) => setTimeout(r, 5)); // the first fetch's single-flight run has ended
      release();
      expect(await Promise.all([first, second])).toEqual([bytes.length, bytes.length]);
      expect(gets).toBe(1);
    } finally {
      await opened.close();
    }
  });
});
