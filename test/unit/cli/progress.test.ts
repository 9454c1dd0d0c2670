/**
 * The CLI's byte meter sits between a file and whoever reads the bundle (the importer, undici's
 * request body). Counting must not start the flow: bytes written before the reader attaches are
 * the start of the tar, and losing them makes a good bundle unreadable.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { progress } from '../../../src/cli/progress.js';

it('keeps every byte written before its reader attaches', async () => {
  const p = progress(3 * 65536, 'test');
  const chunks = [0, 1, 2].map((i) => Buffer.alloc(65536, i + 1));
  for (const c of chunks) p.meter.write(c);
  p.meter.end();
  await sleep(20); // the reader attaches later, as the importer does after its own awaits
  const got: Buffer[] = [];
  for await (const c of p.meter) got.push(c as Buffer);
  p.stop();
  expect(Buffer.concat(got).equals(Buffer.concat(chunks))).toBe(true);
});
