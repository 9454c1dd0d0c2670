/**
 * Frees the memory of bodies' chunks soon after they are written: requests' bodies, and the bodies
 * of an object store's GETs that downloads pipe to their clients.
 *
 * A body arrives in 64 KiB Buffers (Node's HTTP parser copies each fragment into a new one) that are
 * garbage once hashed and written (or sent). Their memory is outside V8's heap, and V8 collects it only after
 * 64 MiB of it have piled up (its fixed soft limit for external memory): one large upload, or sixteen
 * concurrent 1 MiB ones, would add some 50 MiB to the resident set. So, every GC_EVERY bytes received
 * by the whole process (small uploads never reach it alone):
 * - a young-generation collection (under a millisecond) frees the chunks that died young;
 * - chunks that waited behind a slow disk while several collections ran were promoted to the old
 *   generation, where only a full collection frees them: one runs when the external memory has grown
 *   PROMOTED_LIMIT past what the last full collection left.
 * The two sizes trade memory for CPU. A chunk that lives through two young collections is promoted,
 * and sixteen concurrent uploads keep 2-3 MiB of chunks in flight: collecting every 2 MiB promoted
 * most of them, and a full collection every 6 MiB of those (8-10 ms on this heap, plus V8's helper
 * threads) took a sixth of the CPU of 1 MiB pushes at c=16. Every 4 MiB, few are promoted, and a full
 * collection past 12 MiB runs a few times per 768 such pushes instead of 50-75; their peak RSS
 * stayed at 83-85 MiB.
 * Needs --expose-gc (berth's #! line); without it, nothing is done.
 */
import { getHeapStatistics } from 'node:v8';
import { canCollect, collectFull, collectYoung } from '../runtime/gc.js';

export const GC_EVERY = 4 * 1024 * 1024;
/**
 * The same for an object store's GET bodies piped to clients. Their chunks live only until the
 * socket takes them, so collecting twice as often frees them before a second collection can promote
 * them. Four parallel 256 MiB pulls from Ceph RGW, three in a row, twice, collecting every 1, 2, 4
 * and 8 MiB: 3,085, 1,550, 783 and 400 young collections, 2, 2, 16 and 622 full ones; peak RSS 82,
 * 88, 97 and 102 MiB; 418-505, 488-563, 383-471 and 187-255 MiB/s.
 */
export const GC_EVERY_PIPED = 2 * 1024 * 1024;
export const PROMOTED_LIMIT = 12 * 1024 * 1024;

type Gc = (o: { type: 'minor' | 'major' }) => void;

export class ChunkCollector {
  /** How far to the next young collection: 1 is due (each source counts against its own interval). */
  private due = 0;
  private externalAfterFull = 0;

  constructor(
    private readonly gc: Gc,
    /** Bytes outside V8's heap held by JavaScript objects, Buffers' memory among them. */
    private readonly external: () => number,
  ) {}

  received(bytes: number, every = GC_EVERY): void {
    this.due += bytes / every;
    if (this.due < 1) return;
    this.due = 0;
    this.gc({ type: 'minor' });
    const external = this.external();
    if (external < this.externalAfterFull + PROMOTED_LIMIT) {
      // Memory that the last full collection kept may have been freed since: follow it down.
      this.externalAfterFull = Math.min(this.externalAfterFull, external);
      return;
    }
    this.gc({ type: 'major' });
    this.externalAfterFull = this.external();
  }
}

const collector = canCollect
  ? new ChunkCollector((o) => (o.type === 'major' ? collectFull() : collectYoung()), () => getHeapStatistics().external_memory)
  : undefined;

/** Counts body bytes as they arrive, from every upload of the process. */
export function countReceived(bytes: number): void {
  collector?.received(bytes, GC_EVERY);
}

/** Counts the bytes of an object store's GET as they pass to a client. */
export function countPiped(bytes: number): void {
  collector?.received(bytes, GC_EVERY_PIPED);
}
