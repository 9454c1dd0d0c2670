// Loaded with `node --import` into a spawned berth: records the URL of every module the process
// imports (ESM resolution: berth's bundle chunks, and the packages left outside the bundle) by
// appending it to the file in BERTH_TEST_LOADED. The hook runs on Node's loader thread.
// test/integration/lazy-features.test.ts maps the URLs to packages.
import { register } from 'node:module';

const hook = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (!resolved.url.startsWith('node:')) appendFileSync(${JSON.stringify(process.env.BERTH_TEST_LOADED)}, resolved.url + '\\n');
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
