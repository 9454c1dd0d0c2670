/**
 * LevelDB reads its table files through up to 1000 read-only mmap()s by default (leveldb 1.20's
 * env_posix.cc, inside classic-level's addon). Every page of them that a lookup or a walk touches
 * then counts in berth's resident set: a GC pass over a 300 MiB index showed 370 MiB of mapped
 * pages, and the catalog of 90,000 repositories 15 MiB. With the limit at 0, LevelDB reads tables
 * with pread() into its block cache: the kernel's page cache still keeps the files, outside berth.
 * The limit is read once, when the first database of the process opens, so this runs before it.
 * Without the native addon (or should a classic-level build not export the knob) nothing changes.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { native } from '../native/addon.js';

let done: boolean | undefined;

/** Whether LevelDB in this process reads its tables without mapping them. */
export function unmapTables(): boolean {
  if (done === undefined) done = native ? setLimit(native.unmappedTables) : false;
  return done;
}

function setLimit(unmappedTables: (path: string) => boolean): boolean {
  try {
    const require = createRequire(createRequire(import.meta.url).resolve('level'));
    const classicLevel = require.resolve('classic-level');
    // the addon file classic-level loaded: its binding.js is node-gyp-build(__dirname)
    const addon = (createRequire(classicLevel)('node-gyp-build') as { path(dir: string): string }).path(dirname(classicLevel));
    require('classic-level'); // loaded first: the knob is only looked up in an addon already in memory
    return unmappedTables(addon);
  } catch {
    return false;
  }
}
