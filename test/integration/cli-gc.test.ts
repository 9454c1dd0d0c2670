/** `berth gc` on a running registry goes through its loopback /_berth/gc; on a stopped one it opens the root. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as berthCli, spawnBerth } from '../helpers/spawn.js';
import { blob } from '../helpers/oci.js';

describe('berth gc', () => {
  it('collects in a running registry and in a stopped one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cligc-'));
    const root = join(dir, 'root');
    const config = join(dir, 'berth.yaml');
    try {
      await writeFile(config, 'storage:\n  gc:\n    delay: 0s\n');
      const berth = await spawnBerth({ root, args: ['--config', config] });
      const b = blob(4000);
      await fetch(`${berth.url}/v2/g/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes });
      await fetch(`${berth.url}/v2/g/app/blobs/${b.digest}`, { method: 'DELETE' }); // unlinked: garbage
      // the running server holds the root: the command asks it (the config tells it the port)
      await writeFile(config, `storage:\n  gc:\n    delay: 0s\nhttp:\n  listen: ${berth.host}\n`);
      const dry = await berthCli(['gc', '--dry-run', '--root', root, '--config', config]);
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, blobsDeleted: 1, bytesReclaimed: 4000 });
      const run = await berthCli(['gc', '--root', root, '--config', config]);
      expect(JSON.parse(run.out)).toMatchObject({ dryRun: false, blobsDeleted: 1 });
      await berth.stop();
      const stopped = await berthCli(['gc', '--root', root, '--config', config]);
      expect(JSON.parse(stopped.out)).toMatchObject({ blobsDeleted: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
