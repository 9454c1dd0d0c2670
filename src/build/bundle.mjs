// Bundles the `berth` command (npm run build runs this after tsc): dist/cli/main.js becomes one
// module with berth's code and its dependencies inlined, and each module berth imports only when a
// feature is used (`await import(...)`) becomes a chunk in dist/berth/ that loads when it is first
// imported. Why: every module Node loads stays resident (its source text, its function metadata, the
// loader's records), and berth at start loads about 400 files. Bundled, an idle berth on an empty
// store measured 58.0-58.4 MiB resident 9 s after start against 59.2-64.0 unbundled, and 65.1-65.4 MiB
// at 1 s against 67.6-71.8 (and V8's memory reducer, which shrinks the young generation, then ran
// before 9 s in every start; bench/README.md, sixth round). Whitespace and syntax are minified,
// names are not: full minification measured the same, and stack traces keep their function names.
// dist/berth/*.js.map map back to src/ for `node --enable-source-maps`.
//
// Left outside the bundle, loaded from node_modules as before:
// - classic-level: a native addon, found next to its package (src/index/level-tables.ts too);
// - pino: its transports (pino-pretty, for log.format: pretty) run in a worker thread that loads
//   pino's own files by path;
// - Fastify's schema compilers (Ajv, fast-json-stringify: 390 KB of source): berth compiles only
//   the web UI's few schemas, on their first call (src/http/app.ts), so they load from node_modules
//   then instead of sitting in the startup chunk.
//
// dist/berth/meta.json lists which sources each output holds (esbuild's metafile): the test that
// checks that features which are off load none of their code reads it.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'dist', 'cli', 'main.js');
const chunks = join(root, 'dist', 'berth');
const MARK = '// berth: bundled by src/build/bundle.mjs';

// the bundle replaces tsc's dist/cli/main.js: bundling it again would bundle the bundle
if (readFileSync(entry, 'utf8').includes(MARK)) {
  process.stderr.write('berth: dist/cli/main.js is already the bundle; run tsc first (npm run build does)\n');
  process.exit(1);
}

const result = await build({
  absWorkingDir: root,
  entryPoints: [{ in: entry, out: 'cli/main' }],
  outdir: join(root, 'dist'),
  // the entry keeps its path (package.json's bin, the image's entrypoint); chunks sit one level
  // below dist/ like every other module, so paths relative to a module (../../dist/native,
  // ../ui/public) hold from either
  chunkNames: 'berth/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // pg-native: pg's optional libpq binding, required only by pg.native (berth uses the pure-JS client)
  external: ['classic-level', 'pino', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', '*.node', 'pg-native'],
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  metafile: true,
  allowOverwrite: true,
  write: false,
  logLevel: 'warning',
  // CommonJS dependencies call require(); an ES module has none of its own
  banner: { js: `${MARK}\nimport { createRequire as __berthRequire } from 'node:module';\nconst require = __berthRequire(import.meta.url);` },
});

rmSync(chunks, { recursive: true, force: true });
mkdirSync(chunks);
for (const file of result.outputFiles) writeFileSync(file.path, file.contents);
// run as a program (its #! line carries berth's runtime flags); tsc wrote the file it replaces 0644
chmodSync(entry, 0o755);
writeFileSync(join(chunks, 'meta.json'), JSON.stringify(result.metafile));
