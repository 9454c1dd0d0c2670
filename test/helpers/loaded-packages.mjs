// Loaded with `node --import` into a spawned berth: records every package the process imports (ESM
// resolution, which is how berth's own modules load theirs) by appending its name to the file in
// BERTH_TEST_LOADED. The hook runs on Node's loader thread.
import { register } from 'node:module';

const hook = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const m = /^(@[^/]+\\/[^/]+|[^./@][^/:]*)/.exec(specifier);
  if (m && !specifier.startsWith('node:')) appendFileSync(${JSON.stringify(process.env.BERTH_TEST_LOADED)}, m[1] + '\\n');
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
