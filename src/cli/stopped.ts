/** Opening a data root from the command line while no berth serves it (the index's lock says if one does). */
import { openRegistry, type OpenRegistry } from '../open.js';
import type { BerthConfig } from '../config/config.js';

/** The opened root, or undefined when a running berth holds it. */
export async function openStopped(config: BerthConfig): Promise<OpenRegistry | undefined> {
  try {
    return await openRegistry({ root: config.storage.root, fsync: config.storage.fsync, serving: false });
  } catch (err) {
    if (/lock/i.test(String((err as { cause?: unknown }).cause ?? err))) return undefined;
    throw err;
  }
}
