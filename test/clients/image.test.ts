/**
 * The Dockerfile's build steps, run as plain shell (deploy/image/build.sh; no container engine here):
 * the runtime tree holds production dependencies only, starts, answers /livez and takes a push.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';
import { blob } from '../helpers/oci.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('image build script', () => {
  it('builds a runtime tree that serves, as the Dockerfile does', async () => {
    const dir = await testDir('berth-image-');
    const out = join(dir, 'app');
    const built = spawnSync('sh', [join(ROOT, 'deploy/image/build.sh'), out], { timeout: 600_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(built.status, `build.sh failed:\n${built.stdout}${built.stderr}`).toBe(0);
    expect(existsSync(join(out, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(out, 'dist/native/sendfile.node')), 'the zero-copy addon was not built: apt-get install -y python3 make g++').toBe(true);
    expect(existsSync(join(out, 'node_modules/fastify'))).toBe(true);
    expect(existsSync(join(out, 'node_modules/vitest'))).toBe(false); // dev dependencies pruned
    expect(existsSync(join(out, 'node_modules/typescript'))).toBe(false);
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toContain('RUN sh deploy/image/build.sh /app');
    const port = await freePort();
    const child = spawn(process.execPath, [join(out, 'dist/cli/main.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--root', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise((r) => child.once('close', r));
    try {
      let live = 0;
      for (let i = 0; i < 100 && live !== 200; i++) {
        live = await fetch(`http://127.0.0.1:${port}/livez`).then((r) => r.status, () => 0);
        if (live !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(live, log).toBe(200);
      const b = blob(2048);
      expect((await fetch(`http://127.0.0.1:${port}/v2/img/test/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes })).status).toBe(201);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 600_000);
});
