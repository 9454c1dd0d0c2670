/**
 * Where berth's log lines go when no person watches them (JSON lines for a log pipeline). One line
 * per request written with its own write(2) costs a system call per request; here lines are gathered
 * and written together once 8 KiB have gathered, or a second after the first of them, still with
 * synchronous writes: no write is ever in flight, so the exit handler can write out what is left
 * completely. That handler runs on every way out that runs JavaScript: a clean shutdown
 * (SIGTERM/SIGINT end in process.exit), an uncaught exception or rejection, process.exit anywhere.
 * A SIGKILL loses at most the last second of lines.
 */
import { pino, type DestinationStream } from 'pino';

export interface LogDestination extends DestinationStream {
  flushSync(): void;
}

export function bufferedDestination(fd = 1): LogDestination {
  const dest = pino.destination({ dest: fd, sync: true, minLength: 8192, periodicFlush: 1000 });
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // the reader went away (EPIPE): nothing left to write to
    }
  });
  return dest;
}
