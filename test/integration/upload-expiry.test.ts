/** storage.uploadTTL: idle sessions expire with their data; stray session files from a crash too. */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { blob, errorCode } from '../helpers/oci.js';
import { durationMs } from '../../src/config/config.js';

describe('upload session expiry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.close());

  it('removes idle sessions, their files and stray files, and keeps recent ones', async () => {
    const idle = (await reg.request('POST', '/v2/exp/blobs/uploads/')).headers.location!;
    const partial = (await reg.request('POST', '/v2/exp/blobs/uploads/')).headers.location!;
    await reg.request('PATCH', partial, { body: blob(5000).bytes });
    const stray = join(reg.root, 'uploads', '11111111-2222-3333-4444-555555555555');
    await writeFile(stray, 'left by a crash');
    const uploads = reg.opened.registry.uploads;
    expect(await uploads.expire(60_000)).toBe(0); // nothing is a minute old yet
    const removed = await uploads.expire(60_000, Date.now() + 61_000);
    expect(removed).toBe(3);
    for (const loc of [idle, partial]) expect(errorCode(await reg.request('GET', loc))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(await readdir(join(reg.root, 'uploads'))).toEqual([]);
    const fresh = (await reg.request('POST', '/v2/exp/blobs/uploads/')).headers.location!;
    expect(await uploads.expire(60_000)).toBe(0);
    expect((await reg.request('GET', fresh)).status).toBe(204);
  });

  it('parses durations', () => {
    expect(durationMs('24h')).toBe(86_400_000);
    expect(durationMs('30m')).toBe(1_800_000);
    expect(durationMs(90)).toBe(90_000);
    expect(() => durationMs('soon')).toThrow(/duration/);
  });
});
