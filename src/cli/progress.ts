/** Byte counting for the CLI's long transfers, with a bar on standard error when it is a terminal. */
import { Transform } from 'node:stream';
import { SingleBar, Presets } from 'cli-progress';

/**
 * A pass-through that counts the bytes its reader takes. It counts in transform(), not with a
 * 'data' listener: that listener would start the flow, and bytes written before the reader
 * attaches (the start of a tar) would go to the counter alone and be lost.
 */
export function progress(total: number | undefined, label: string): { meter: Transform; stop(): void } {
  const bar = process.stderr.isTTY ? new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} MiB`, stream: process.stderr }, Presets.shades_classic) : undefined;
  let done = 0;
  bar?.start(Math.ceil((total ?? 0) / 1048576), 0);
  const meter = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      bar?.update(Math.floor(done / 1048576));
      callback(null, chunk);
    },
  });
  return { meter, stop: () => bar?.stop() };
}
