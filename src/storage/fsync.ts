/** Durability helpers: a rename is only durable once its directory is fsynced (POSIX rename(2)). */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FsyncPolicy {
  /** When false, berth trades crash safety for speed (tests, benchmarks of the raw path). */
  readonly fsync: boolean;
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates directories once per process; later calls for a known directory cost nothing. */
export class DirMaker {
  private readonly known = new Set<string>();
  async ensure(dir: string): Promise<void> {
    if (this.known.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.known.add(dir);
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Moves a verified temp file to its content address. rename(2) replaces atomically: should the
 * address be taken meanwhile (a concurrent upload of the same blob), the bytes are the same by
 * construction and readers holding the old file keep reading it.
 */
export async function publish(tmp: string, target: string, dirs: DirMaker, policy: FsyncPolicy): Promise<void> {
  const dir = dirname(target);
  await dirs.ensure(dir);
  await rename(tmp, target);
  if (policy.fsync) await fsyncDir(dir);
}
