/** `berth gc` on a running registry goes through its loopback /_berth/gc; on a stopped one it opens the root. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as berthCli, spawnBerth } from '../helpers/spawn.js';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';
import { existsSync } from 'node:fs';

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

  it('finds a berth started with --listen flags from its --root alone (gc, export and import), and forgets it once it stops', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cligc-'));
    const root = join(dir, 'root');
    try {
      const berth = await spawnBerth({ root }); // `serve --listen 127.0.0.1:<port> --root <root>`, no config
      const b = blob(3000);
      await fetch(`${berth.url}/v2/g/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes });
      const m = imageManifest(b, []);
      expect((await fetch(`${berth.url}/v2/g/app/manifests/v1`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
      const dry = await berthCli(['gc', '--dry-run', '--root', root]);
      expect(dry.code, dry.out).toBe(0);
      expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true });
      const bundle = join(dir, 'app.tar');
      const exported = await berthCli(['export', 'g/app:v1', '-o', bundle, '--root', root]);
      expect(exported.code, exported.out).toBe(0);
      const imported = await berthCli(['import', bundle, '--prefix', 'copy', '--root', root]);
      expect(imported.code, imported.out).toBe(0);
      expect((await fetch(`${berth.url}/v2/copy/g/app/manifests/v1`, { method: 'HEAD', headers: { accept: OCI_MANIFEST } })).status).toBe(200);
      expect(existsSync(join(root, 'serving.json'))).toBe(true);
      await berth.stop();
      expect(existsSync(join(root, 'serving.json'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
