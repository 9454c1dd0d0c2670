/** `berth verify [--repair]` on a stopped registry: exit 0 when clean, 1 when problems were found. */
import { openRegistry } from '../open.js';
import { ConfigError, type BerthConfig } from '../config/config.js';

export async function verifyOnce(config: BerthConfig, repair: boolean): Promise<number> {
  let opened;
  try {
    opened = await openRegistry({ root: config.storage.root, fsync: config.storage.fsync, serving: false });
  } catch (err) {
    if (/lock/i.test(String((err as { cause?: unknown }).cause ?? err))) throw new ConfigError(`${config.storage.root} is in use by a running berth`);
    throw err;
  }
  try {
    const report = await opened.registry.verifier.run(repair);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.problems.length === 0 ? 0 : 1;
  } finally {
    await opened.close();
  }
}
