/**
 * `berth gc [--dry-run]` on a stopped registry: opens its root and collects once. A running berth
 * holds the index's lock and collects by itself every storage.gc.interval.
 */
import { openRegistry } from '../open.js';
import { ConfigError, durationMs, type BerthConfig } from '../config/config.js';

export async function gcOnce(config: BerthConfig, dryRun: boolean): Promise<void> {
  let opened;
  try {
    opened = await openRegistry({ root: config.storage.root, fsync: config.storage.fsync, serving: false });
  } catch (err) {
    if (/lock/i.test(String((err as { cause?: unknown }).cause ?? err))) {
      throw new ConfigError(`${config.storage.root} is in use by a running berth, which collects every storage.gc.interval`);
    }
    throw err;
  }
  try {
    const report = await opened.registry.gc.run({ delayMs: durationMs(config.storage.gc.delay), dryRun });
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await opened.close();
  }
}
