// Run by test/unit/level-tables.test.ts as `node mmap-probe.mjs MODE DIR` in a process of its own
// (LevelDB reads its mmap limit once per process). Fills a database past its write buffer so that
// table files exist, reopens it, walks it, and prints how many mappings of table files the
// process holds. MODE berth: through berth's LevelIndex; MODE plain: classic-level as it comes.
import { readFileSync } from 'node:fs';
import { Level } from 'level';

const [mode, dir] = process.argv.slice(2);
const N = 40_000;
const hex = (i) => i.toString(16).padStart(64, '0');
let walked = 0;

if (mode === 'berth') {
  const { LevelIndex } = await import('../../dist/index/level-index.js');
  let index = new LevelIndex(dir, false);
  await index.open();
  for (let i = 0; i < N; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => index.linkBlob(`probe/r${(i + j) % 100}`, `sha256:${hex(i + j)}`, 1)));
  }
  await index.close();
  index = new LevelIndex(dir, false);
  await index.open();
  for await (const _ of index.blobHolders()) walked++;
} else {
  let db = new Level(dir, { writeBufferSize: 1024 * 1024 });
  await db.open();
  for (let i = 0; i < N; i += 1000) {
    await db.batch(Array.from({ length: 1000 }, (_, j) => ({ type: 'put', key: `b/sha256:${hex(i + j)}`, value: 'x'.repeat(40) })));
  }
  await db.close();
  db = new Level(dir);
  await db.open();
  for await (const _ of db.keys()) walked++;
}
const tables = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith('.ldb')).length;
console.log(JSON.stringify({ mode, walked, tables }));
