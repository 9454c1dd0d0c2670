/** Whole-file replacement for the files berth keeps beside its data (no reader ever sees a part). */
import { open, rename, rm } from 'node:fs/promises';

/** Writes `text` to `file` so that a reader finds the old file or the new one, whole: never a part. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
