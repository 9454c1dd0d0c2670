/**
 * Ends every run with one plain line, `N passed, M failed, K skipped`, that any CI can read.
 * Failed modules (a suite that could not even load) count as failures.
 */
import { appendFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = errors.length;
    let skipped = 0;
    for (const m of modules) {
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    // .ci/run adds up every runner's counts into one closing line.
    const file = process.env.BERTH_SUMMARY_FILE;
    if (file) appendFileSync(file, `vitest ${passed} ${failed}\n`);
  }
}
