/**
 * `berth migrate --from A.yaml --to B.yaml`: copies a stopped registry from one configuration's
 * engines to another's (for example from a node's directory and LevelDB into S3 and PostgreSQL),
 * verifying every digest (src/registry/copy.ts), with a progress bar on a terminal and a JSON report
 * on standard output. Interrupted, it can be run again: it continues. Exit 1 when anything could not
 * be copied.
 */
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../config/config.js';
import { openRegistry, type OpenRegistry } from '../open.js';
import { copyRegistry } from '../registry/copy.js';

async function open(file: string): Promise<OpenRegistry> {
  const c = await loadConfig(file);
  return openRegistry({ root: c.storage.root, fsync: c.storage.fsync, storage: c.storage, metadata: c.metadata, serving: false });
}

export async function migrate(fromFile: string, toFile: string): Promise<number> {
  const from = await open(fromFile);
  try {
    const to = await open(toFile);
    try {
      let total = 0;
      for await (const _ of from.blobs.digests()) total++;
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'blobs [{bar}] {value}/{total} {mib} MiB copied', stream: process.stderr }, Presets.shades_classic) : undefined;
      bar?.start(total, 0, { mib: 0 });
      let done = 0;
      let bytes = 0;
      const report = await copyRegistry(from, to, {
        blob(_digest, size, copied) {
          if (copied) bytes += size;
          bar?.update(++done, { mib: Math.round(bytes / 1048576) });
        },
      });
      bar?.stop();
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.problems.length ? 1 : 0;
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
