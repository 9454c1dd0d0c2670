/**
 * A full disk (a 16 MiB tmpfs this test mounts; it needs root, as CI has): writes get 507 with the
 * spec's envelope, partial data and temp files are cleaned up, reads keep working, a session resumes
 * where it was, and the registry recovers by itself once space is freed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBerth, type Berth } from '../helpers/spawn.js';
import { sha256 } from '../helpers/oci.js';

describe('full disk', () => {
  let mnt: string;
  let berth: Berth;
  beforeAll(async () => {
    mnt = await mkdtemp(join(tmpdir(), 'berth-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
    } catch (err) {
      throw new Error(`this test mounts a small tmpfs and needs root (CI runs as root): ${(err as Error).message}`);
    }
    berth = await spawnBerth({ root: join(mnt, 'root') });
  });
  afterAll(async () => {
    await berth?.stop();
    try {
      execFileSync('umount', [mnt]);
    } catch {
      /* not mounted */
    }
    await rm(mnt, { recursive: true, force: true });
  });

  const post = async (bytes: Buffer, repo = 'full/app') =>
    fetch(`${berth.url}/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes });

  it('answers writes with 507, keeps serving reads, cleans up, and recovers once space is freed', async () => {
    const kept = randomBytes(100_000);
    expect((await post(kept)).status).toBe(201);
    const session = (await fetch(`${berth.url}/v2/full/app/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
    const part1 = randomBytes(200_000);
    expect((await fetch(`${berth.url}${session}`, { method: 'PATCH', body: part1 })).status).toBe(202);

    // fill the disk
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* dd stops when the disk is full: that is the point */
    }
    const big = await post(randomBytes(3_000_000));
    expect(big.status).toBe(507);
    const body = (await big.json()) as { errors: { code: string; message: string; detail: { reason: string } }[] };
    expect(body.errors[0]).toMatchObject({ code: 'DENIED', detail: { reason: 'ENOSPC' } });
    const patch = await fetch(`${berth.url}${session}`, { method: 'PATCH', body: randomBytes(3_000_000) });
    expect(patch.status).toBe(507);
    expect(await readdir(join(mnt, 'root', 'tmp'))).toEqual([]);
    // reads keep working
    const read = await fetch(`${berth.url}/v2/full/app/blobs/${sha256(kept)}`);
    expect(Buffer.from(await read.arrayBuffer()).equals(kept)).toBe(true);
    const status = await fetch(`${berth.url}${session}`);
    expect(status.headers.get('range')).toBe(`0-${part1.length - 1}`); // the failed chunk was cut off

    // free space: the same registry works again, without a restart
    await rm(filler);
    const after = randomBytes(1_000_000);
    expect((await post(after)).status).toBe(201);
    const part2 = randomBytes(50_000);
    expect((await fetch(`${berth.url}${session}`, { method: 'PATCH', body: part2 })).status).toBe(202);
    const whole = Buffer.concat([part1, part2]);
    expect((await fetch(`${berth.url}${session}?digest=${sha256(whole)}`, { method: 'PUT' })).status).toBe(201);
    await writeFile(join(mnt, 'probe'), 'ok'); // the disk itself is writable again
  });
});
