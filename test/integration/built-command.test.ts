/**
 * The built command as it ships: dist/cli/main.js is a bundle (src/build/bundle.mjs) whose chunks
 * live in dist/berth/, so whatever a module finds relative to its own file must still be found from
 * there: the web UI's files (dist/ui/public) above all.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';

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
