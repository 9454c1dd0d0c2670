// Builds the optional native addon (sendfile.c: sendfile, malloc_trim, LevelDB's mmap limit) into
// dist/native/ with node-gyp, the native build tool npm ships (npm run build and the Docker build
// stage run this; npm install never does). When it cannot be built (no compiler, not Linux), berth
// works all the same: blob downloads then copy through user space. Skipped when the built addon is
// newer than its source.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'dist', 'native', 'sendfile.node');
const source = join(here, 'sendfile.c');

function note(why) {
  process.stderr.write(`berth: the native addon was not built (${why}); blob downloads will copy through user space, and malloc and LevelDB keep their default memory use\n`);
}

if (process.platform !== 'linux') {
  note(`sendfile(2) is Linux's; this is ${process.platform}`);
} else if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) {
  // up to date
} else {
  const gyp = process.env.npm_config_node_gyp; // set by npm for the scripts it runs
  if (!gyp) {
    note('run it through npm run build');
  } else {
    try {
      // the headers of the Node that runs this, when they are installed beside it (Debian's and the
      // official images' are): node-gyp would otherwise download them, and build machines may be offline
      const prefix = dirname(dirname(process.execPath));
      const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
      const args = [gyp, 'rebuild', '--silent', '-C', here, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
      execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      mkdirSync(dirname(out), { recursive: true });
      // a new file renamed over the old: a running berth has the old one mapped, and writing into
      // that file in place crashes it (its code pages change under it)
      copyFileSync(join(here, 'build', 'Release', 'sendfile.node'), `${out}.new`);
      renameSync(`${out}.new`, out);
    } catch (err) {
      note(String(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' / '));
    } finally {
      rmSync(join(here, 'build'), { recursive: true, force: true });
      rmSync(`${out}.new`, { force: true }); // left only when the copy failed
    }
  }
}
