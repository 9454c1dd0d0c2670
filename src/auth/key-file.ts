/**
 * A secret made once in a file (mode 0600 under a 0700 directory): the token service's signing key
 * and the pull credentials' HMAC key. Written whole beside its place, then linked in: a reader never
 * sees it half written, and of two processes making it at once the first link wins and both use it.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file's text; when it does not exist and `make` is given, made by `make` first. */
export async function readOrCreate(file: string, make?: () => Promise<string>): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !make) throw err;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(await make());
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  return readFile(file, 'utf8');
}
