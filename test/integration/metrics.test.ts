/** GET /metrics on a spawned `berth serve` counts a push and a pull exactly (issue 8). */
import { describe, expect, it } from 'vitest';
import { spawnBerth } from '../helpers/spawn.js';
import { blob, imageManifest } from '../helpers/oci.js';

function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return undefined;
}

describe('/metrics', () => {
  it('counts requests, bytes and what storage holds for a push and a pull', async () => {
    const berth = await spawnBerth();
    try {
      const config = blob(300);
      const layer = blob(5000);
      for (const b of [config, layer]) {
        const r = await fetch(`${berth.url}/v2/team/app/blobs/uploads/?digest=${b.digest}`, { method: 'POST', body: b.bytes });
        expect(r.status).toBe(201);
      }
      const m = imageManifest(config, [layer]);
      expect((await fetch(`${berth.url}/v2/team/app/manifests/v1`, { method: 'PUT', body: m.bytes, headers: { 'content-type': m.mediaType } })).status).toBe(201);
      for (let i = 0; i < 3; i++) expect((await fetch(`${berth.url}/v2/team/app/manifests/v1`, { headers: { accept: m.mediaType } })).status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await (await fetch(`${berth.url}/v2/team/app/blobs/${layer.digest}`)).arrayBuffer()).byteLength).toBe(5000);
      expect((await fetch(`${berth.url}/v2/team/app/blobs/${layer.digest}`, { method: 'HEAD' })).status).toBe(200);
      const r = await fetch(`${berth.url}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await r.text();
      expect(series(text, 'berth_http_requests_total', { route: 'upload', method: 'POST', status: '201' })).toBe(2);
      expect(series(text, 'berth_http_requests_total', { route: 'manifest', method: 'PUT', status: '201' })).toBe(1);
      expect(series(text, 'berth_http_requests_total', { route: 'manifest', method: 'GET', status: '200' })).toBe(3);
      // the first read may fill the cache; the two after it are answered from memory
      expect(series(text, 'berth_manifest_cache_hits_total')! + series(text, 'berth_manifest_cache_misses_total')!).toBe(3);
      expect(series(text, 'berth_manifest_cache_hits_total')).toBeGreaterThanOrEqual(2);
      expect(series(text, 'berth_manifest_stamp_checks_total')).toBeUndefined(); // one process: nothing to check
      expect(series(text, 'berth_http_requests_total', { route: 'blob', method: 'GET', status: '200' })).toBe(2);
      expect(series(text, 'berth_http_requests_total', { route: 'blob', method: 'HEAD', status: '200' })).toBe(1);
      expect(series(text, 'berth_http_request_bytes_total', { route: 'upload' })).toBe(5300);
      expect(series(text, 'berth_http_response_bytes_total', { route: 'blob' })).toBe(10_000);
      expect(series(text, 'berth_http_request_duration_seconds_count', { route: 'blob', method: 'GET' })).toBe(2);
      expect(series(text, 'berth_uploads_in_progress')).toBe(0);
      expect(series(text, 'berth_storage_blobs')).toBe(2);
      expect(series(text, 'berth_storage_bytes')).toBe(5300);
      expect(series(text, 'berth_storage_repositories')).toBe(1);
      expect(series(text, 'berth_gc_runs_total')).toBe(0);
      expect(series(text, 'berth_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await berth.stop();
    }
  });
});
