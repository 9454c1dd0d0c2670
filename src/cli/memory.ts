/**
 * Gives memory that berth no longer uses back to the system after bursts of work.
 *
 * - malloc: glibc keeps freed memory inside its arenas and returns only an arena's free top by
 *   itself; request bodies (64 KiB chunks, freed in any order) fragment the main arena, so it only
 *   grows (measured: after 10 minutes of pushes, 31 of its 43 MiB were free but kept).
 *   malloc_trim(0) (the native addon) gives back every free page inside.
 * - V8's old space: its full collections empty a page only when it is mostly free, so under steady
 *   load it holds up to twice its live objects (a 7-minute soak: 28-37 MiB committed for 17-21 live).
 *   A compacting collection (runtime/gc.ts) when at least FRAGMENTED_BYTES of it are free moves it
 *   back towards its live size (22-26 MiB committed in the same soak).
 *
 * Once a second the process's CPU time tells whether it is working: the first quiet second after
 * work trims, and long work (EVERY_BUSY_SECONDS or more) does both every EVERY_BUSY_SECONDS and
 * when it ends. No per-request cost. Short bursts, start-up among them, leave V8's heap to V8 (its
 * memory reducer shrinks it some 10-20 s after the load stops): a collection right after start-up
 * was measured to keep the idle process 5-10 MiB above what the reducer leaves.
 */
import { native } from '../native/addon.js';
import { canCollect, compactOld, oldSpace } from '../runtime/gc.js';

/** CPU milliseconds in one second above which the process counts as working. */
const BUSY_MS = 50;
const EVERY_BUSY_SECONDS = 10;
const FRAGMENTED_BYTES = 4 * 1024 * 1024;

function giveBack(longWork: boolean): void {
  if (longWork && canCollect) {
    const { committed, used } = oldSpace();
    if (committed - used >= FRAGMENTED_BYTES) compactOld();
  }
  native?.trim();
}

/** Starts the once-a-second check (an unref'd timer: it never keeps the process alive). */
export function returnMemoryAfterBursts(): void {
  if (!native && !canCollect) return;
  let last = process.cpuUsage();
  let busySeconds = 0;
  const timer = setInterval(() => {
    const used = process.cpuUsage(last);
    last = process.cpuUsage();
    if ((used.user + used.system) / 1000 > BUSY_MS) {
      if (++busySeconds % EVERY_BUSY_SECONDS === 0) {
        giveBack(true);
        last = process.cpuUsage(); // its own time is not work
      }
      return;
    }
    if (busySeconds === 0) return; // quiet, and already given back
    giveBack(busySeconds >= EVERY_BUSY_SECONDS);
    busySeconds = 0;
    last = process.cpuUsage();
  }, 1000);
  timer.unref();
}
