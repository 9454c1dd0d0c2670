/**
 * The built command as it ships: dist/cli/main.js is a bundle (src/build/bundle.mjs) whose chunks
 * live in dist/berth/, so whatever a module finds relative to its own file must still be found from
 * there (the web UI's files, dist/ui/public), and modules imported when a feature is first used
 * must work as chunks (the S3 presigner, a CommonJS package, for redirects and spliced downloads).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { requesterOf, spawnBerth } from '../helpers/spawn.js';
import { engineConfig } from '../helpers/engines.js';
import { blob, pushBlob } from '../helpers/oci.js';

const PUBLIC = fileURLToPath(new URL('../../dist/ui/public/', import.meta.url));

it('serves the web UI page, scripts and stylesheet from dist/ui/public', async () => {
  const berth = await spawnBerth();
  try {
    for (const [path, file] of [['/', 'index.html'], ['/ui/app.js', 'app.js'], ['/ui/style.css', 'style.css']] as const) {
      const r = await fetch(`${berth.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(Buffer.from(await r.arrayBuffer()).equals(await readFile(`${PUBLIC}${file}`)), path).toBe(true);
    }
  } finally {
    await berth.stop();
  }
});

it('presigns S3 GETs from its chunk: a redirect, and a download spliced from the store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-built-'));
  const b = blob(2 * 1024 * 1024 + 1);
  try {
    for (const redirect of [true, false]) {
      const config = join(dir, `s3-${redirect}.yaml`);
      await writeFile(config, `${JSON.stringify(await engineConfig('s3+postgres', { redirect }))}\n`);
      const berth = await spawnBerth({ args: ['--config', config] });
      try {
        await pushBlob(requesterOf(berth), 'built/app', b);
        const r = await fetch(`${berth.url}/v2/built/app/blobs/${b.digest}`, { redirect: 'manual' });
        if (redirect) {
          expect(r.status).toBe(307);
          expect(r.headers.get('location')).toMatch(/X-Amz-Signature=/);
        } else {
          expect(r.status).toBe(200);
          expect(Buffer.from(await r.arrayBuffer()).equals(b.bytes)).toBe(true);
        }
      } finally {
        await berth.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
