// Run by test/unit/gc.test.ts as `node --expose-gc heap-probe.mjs MODE` in a process of its own
// (each case needs a heap in a known state). Prints JSON figures in MiB.
// MODE chunks: request-body-like Buffers promoted to the old generation, then dropped; the process
//   then "receives" bytes through body-memory's counter: its full collection must free them.
// MODE fragmented: old space fragmented (3 of 4 objects dropped on every page), then one plain full
//   collection, then compactOld().
import { getHeapStatistics } from 'node:v8';

const MiB = 1024 * 1024;
const mode = process.argv[2];
const gcMod = await import('../../dist/runtime/gc.js');

if (mode === 'chunks') {
  const { countReceived, GC_EVERY } = await import('../../dist/storage/body-memory.js');
  let held = Array.from({ length: 320 }, () => Buffer.alloc(64 * 1024, 1)); // 20 MiB
  gcMod.collectYoung();
  gcMod.collectYoung(); // survived twice: promoted
  const before = getHeapStatistics().external_memory / MiB;
  held = null;
  for (let i = 0; i < 4; i++) countReceived(GC_EVERY);
  const after = getHeapStatistics().external_memory / MiB;
  console.log(JSON.stringify({ before, after }));
} else {
  const keep = Array.from({ length: 400_000 }, (_, i) => ({ a: `x${i}`, b: [i] }));
  gcMod.collectFull();
  gcMod.collectFull();
  for (let i = 0; i < keep.length; i++) if (i % 4) keep[i] = null;
  gcMod.collectFull();
  const plain = gcMod.oldSpace();
  gcMod.compactOld();
  const compacted = gcMod.oldSpace();
  console.log(JSON.stringify({ plain: plain.committed / MiB, compacted: compacted.committed / MiB, used: compacted.used / MiB, kept: keep.filter(Boolean).length }));
}
