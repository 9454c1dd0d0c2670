/**
 * `berth verify [--repair]` on a stopped registry: exit 0 when clean (unlinked blobs, which garbage
 * collection takes, are reported but are not damage), 1 when problems were found.
 */
import { openStopped } from './stopped.js';
import { ConfigError, type BerthConfig } from '../config/config.js';

export async function verifyOnce(config: BerthConfig, repair: boolean): Promise<number> {
  const opened = await openStopped(config);
  if (!opened) throw new ConfigError(`${config.storage.root} is in use by a running berth: stop it to verify`);
  try {
    const report = await opened.registry.verifier.run(repair);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.problems.length === 0 ? 0 : 1;
  } finally {
    await opened.close();
  }
}
