// Run by test/unit/native-trim.test.ts as `node --expose-gc trim-probe.cjs ADDON` (a file: under
// `node -e` the freed buffers were still resident after collection, so the trim had nothing to give).
const { readFileSync } = require('node:fs');
const anon = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const addon = require(process.argv[2]);
let chunks = [];
const kept = [];
for (let i = 0; i < 2000; i++) {
  chunks.push(Buffer.alloc(64 * 1024, 1));
  if (i % 50 === 0) kept.push(Buffer.alloc(1024, 2)); // pins the arena's top
}
chunks = null;
gc();
setTimeout(() => {
  // V8 frees array buffers' memory on a background thread after the collection
  const before = anon();
  const trimmed = addon.trim();
  console.log(JSON.stringify({ before, after: anon(), trimmed, kept: kept.length }));
}, 500);
