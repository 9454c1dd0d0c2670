/**
 * Gives malloc's free memory back to the system. glibc keeps freed memory inside its arenas and
 * returns only an arena's free top by itself; request bodies (64 KiB chunks, freed in any order)
 * fragment the main arena, so it only grows (measured: after 10 minutes of pushes, 31 of its 43 MiB
 * were free but kept). malloc_trim(0) gives back every free page inside. Once a second the
 * process's CPU time tells whether it is working: the first quiet second after work trims, and long
 * work trims every 10 s. No per-request cost; without the native addon it does nothing.
 *
 * V8's heap is left to V8: its memory reducer shrinks the heap some 10-20 s after the load stops.
 * A forced collection here was measured to do worse: gc({ type: 'major' }) shrank nothing, and
 * gc() right after start-up kept the heap 10 MiB above what the reducer leaves.
 */
import { native } from '../native/addon.js';

/** CPU milliseconds in one second above which the process counts as working. */
const BUSY_MS = 50;
const TRIM_EVERY_BUSY_SECONDS = 10;

/** Starts the once-a-second check (an unref'd timer: it never keeps the process alive). */
export function returnMemoryAfterBursts(): void {
  const addon = native;
  if (!addon) return;
  let last = process.cpuUsage();
  let busySeconds = 0;
  const timer = setInterval(() => {
    const used = process.cpuUsage(last);
    last = process.cpuUsage();
    if ((used.user + used.system) / 1000 > BUSY_MS) {
      if (++busySeconds % TRIM_EVERY_BUSY_SECONDS === 0) addon.trim();
      return;
    }
    if (busySeconds === 0) return; // quiet, and already given back
    busySeconds = 0;
    addon.trim();
    last = process.cpuUsage(); // the trim's own time is not work
  }, 1000);
  timer.unref();
}
