/**
 * `ctr content prune references`, retried: containerd's own garbage collector can remove content
 * while the prune walks it, and the prune then fails with "content digest ...: not found" although
 * nothing is wrong (seen in CI). A later attempt finds nothing left to race with.
 */
export async function pruneContent(ctr: (...a: string[]) => Promise<string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctr('content', 'prune', 'references');
      return;
    } catch (err) {
      if (attempt >= 5 || !/not found/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
