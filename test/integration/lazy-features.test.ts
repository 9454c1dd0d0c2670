/**
 * What is off is not even loaded: a spawned `berth serve` records every module it imports
 * (test/helpers/loaded-packages.mjs), and features that are off, or not used yet, import none of
 * their packages' code. berth runs as a bundle (src/build/bundle.mjs): a loaded chunk stands for
 * the packages its sources come from, as the bundle's metafile lists them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';
import { testDir } from '../helpers/tmp.js';

const HOOK = fileURLToPath(new URL('../helpers/loaded-packages.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The package a node_modules path is in. */
const packageOf = (path: string) => /node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(path)?.[1];

/**
 * The packages whose code the loaded modules hold: their own, or for a bundle output its inputs';
 * berth's own modules among those inputs as `source:dist/...` (the bundle is made from tsc's output).
 */
async function packagesOf(urls: string[]): Promise<Set<string>> {
  const meta = JSON.parse(await readFile(join(ROOT, 'dist', 'berth', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const packages = new Set<string>();
  for (const url of urls) {
    const path = fileURLToPath(url);
    const own = packageOf(path);
    if (own) packages.add(own);
    for (const input of Object.keys(meta.outputs[relative(ROOT, path)]?.inputs ?? {})) {
      const p = packageOf(input);
      if (p) packages.add(p);
      else if (input.startsWith('dist/')) packages.add(`source:${input}`);
    }
  }
  return packages;
}

async function loadedBy(config: string, exercise?: (url: string) => Promise<void>): Promise<Set<string>> {
  const dir = await testDir('berth-lazy-');
  const list = join(dir, 'loaded.txt');
  await writeFile(list, '');
  await writeFile(join(dir, 'berth.yaml'), config);
  const berth = await spawnBerth({ args: ['--config', join(dir, 'berth.yaml')], nodeArgs: ['--import', HOOK], env: { BERTH_TEST_LOADED: list } });
  try {
    await (await fetch(`${berth.url}/v2/`)).arrayBuffer();
    await exercise?.(berth.url);
  } finally {
    await berth.stop();
  }
  return packagesOf((await readFile(list, 'utf8')).split('\n').filter(Boolean));
}

describe('optional features load only when on', () => {
  it('a default berth loads no HTTP client, token signer, rate limiter, tar, progress bar, PostgreSQL or S3 client code', async () => {
    const loaded = await loadedBy('{}\n');
    expect(loaded.has('fastify')).toBe(true); // the hook does see imports
    for (const p of ['undici', 'jose', '@fastify/rate-limit', 'tar-stream', 'cli-progress', 'pino-pretty', 'prom-client', 'pg', '@aws-sdk/client-s3', '@peculiar/x509', 'reflect-metadata']) expect(loaded, p).not.toContain(p);
    expect(loaded).toContain('source:dist/registry/registry.js'); // the bundle's sources are seen
    expect([...loaded].filter((p) => p.startsWith('source:dist/webhook/'))).toEqual([]); // the image-redirect webhook is off
    // events are off: only the configuration's check of them (events/sinks.js) is there
    expect([...loaded].filter((p) => p.startsWith('source:dist/events/'))).toEqual(['source:dist/events/sinks.js']);
  });

  it('with an event sink, loads the delivery and its HTTP client', async () => {
    const loaded = await loadedBy('events: {sinks: [{name: s, url: "http://127.0.0.1:9/events"}]}\n');
    for (const m of ['source:dist/events/delivery.js', 'source:dist/events/http-sink.js', 'undici']) expect(loaded, m).toContain(m);
  });

  it('loads prom-client with the first scrape of /metrics', async () => {
    const loaded = await loadedBy('{}\n', async (url) => {
      const r = await fetch(`${url}/metrics`);
      expect(await r.text()).toContain('berth_process_resident_memory_bytes');
    });
    expect(loaded).toContain('prom-client');
  });

  it('with the web UI and metrics off, neither their modules nor prom-client nor mime load', async () => {
    const loaded = await loadedBy('ui: {enabled: false}\nmetrics: {enabled: false}\n');
    for (const p of ['prom-client', 'mime']) expect(loaded, p).not.toContain(p);
  });

  it('loads tar code with the first bundle export, not before', async () => {
    const loaded = await loadedBy('{}\n', async (url) => {
      // an export of an image that is not there fails before any tar byte, so push one first
      const cfg = Buffer.from('{}');
      const { createHash } = await import('node:crypto');
      const d = `sha256:${createHash('sha256').update(cfg).digest('hex')}`;
      await (await fetch(`${url}/v2/lazy/app/blobs/uploads/?digest=${d}`, { method: 'POST', body: cfg })).arrayBuffer();
      const m = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d, size: cfg.length }, layers: [] });
      await (await fetch(`${url}/v2/lazy/app/manifests/v1`, { method: 'PUT', body: m, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer();
      const r = await fetch(`${url}/_berth/export?image=lazy/app:v1`);
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    });
    expect(loaded).toContain('tar-stream');
  });
});
