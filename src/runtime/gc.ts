/**
 * V8's collector as --expose-gc gives it (berth's #! line), the same on every supported Node.
 *
 * The global gc() of Node 20's V8 (11.3) reads its argument as a flag: anything truthy means a
 * young-generation collection, so gc({ type: 'major' }) runs a scavenge there. Later V8s read the
 * options object. So a full collection is gc() with no argument everywhere, and a young one
 * gc({ type: 'minor' }) (truthy on 11.3, read on later versions).
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

const gc = (globalThis as { gc?: (o?: { type: 'minor' }) => void }).gc;

/** Whether this process can collect on demand (started with --expose-gc). */
export const canCollect = gc !== undefined;

export function collectYoung(): void {
  gc?.({ type: 'minor' });
}

export function collectFull(): void {
  gc?.();
}

/** Old space: what V8 has committed for it and what its objects use (garbage included until a collection). */
export function oldSpace(): { committed: number; used: number } {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'old_space');
  return { committed: s?.space_size ?? 0, used: s?.space_used_size ?? 0 };
}

/**
 * A full collection that also moves surviving objects out of sparsely used pages, so those pages go
 * back to the system. V8's regular full collections evacuate a page only when it is about 70% free,
 * so under steady load objects that live for minutes (cached manifests, listings) leave the old space
 * at up to twice its live size. With --optimize-for-size, V8 evacuates pages from 20% free on, at
 * most 6 MB of objects per collection (mark-compact.cc, ComputeEvacuationHeuristics): the process
 * grows by at most that much while it copies. V8 reads the flag at each collection; it is on for
 * this one only (set at start, it also changes what the compilers do: 50% slower requests).
 * --compact-on-every-full-gc would evacuate every page at once: its copy grew the process by the
 * whole live heap (+10 MiB after loading 50,000 manifests).
 */
export function compactOld(): void {
  if (!gc) return;
  setFlagsFromString('--optimize-for-size');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-optimize-for-size');
  }
}
