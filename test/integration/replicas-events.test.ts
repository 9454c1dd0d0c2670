/**
 * Events with replicas (S3 in Ceph RGW, metadata in PostgreSQL): every replica records the events
 * of what it changes, and each event reaches the sink once, not once per replica, including after
 * the replica delivering them is SIGKILLed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicas, type Replicas } from '../helpers/replicas.js';
import { startEventSink, type EventSink } from '../helpers/event-sink.js';
import { blob, imageManifest, OCI_MANIFEST } from '../helpers/oci.js';

let r: Replicas;
let sink: EventSink;

beforeAll(async () => {
  sink = await startEventSink();
  r = await startReplicas(2, { events: { sinks: [{ name: 'hooks', url: sink.url }] } });
}, 60_000);

afterAll(async () => {
  await r?.stop();
  await sink?.down();
});

/** Pushes `n` images to `repo:latest` through the proxy (each request to the next replica). */
async function pushRound(repo: string, n: number, seed: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const cfg = blob(100 + seed * 10 + i);
    expect((await fetch(`${r.url}/v2/${repo}/blobs/uploads/?digest=${cfg.digest}`, { method: 'POST', body: cfg.bytes })).status).toBe(201);
    const m = imageManifest(cfg, []);
    const put = await fetch(`${r.url}/v2/${repo}/manifests/latest`, { method: 'PUT', body: m.bytes, headers: { 'content-type': OCI_MANIFEST } });
    expect(put.status, await put.text()).toBe(201);
  }
}

describe('events with replicas (s3+postgres)', () => {
  it('delivers each event once, whichever replica made the change, and goes on when the delivering replica dies', async () => {
    const repos = ['ev/a', 'ev/b', 'ev/c', 'ev/d'];
    await Promise.all(repos.map((repo, i) => pushRound(repo, 3, i)));
    // per repository: created, 3 pushes, latest moved twice
    const first = repos.length * 6;
    await sink.waitFor((got) => got.length >= first, 20_000);
    await new Promise((res) => setTimeout(res, 2000));
    const ids = sink.received.map((x) => x.event.id);
    expect(ids.length).toBe(first);
    expect(new Set(ids).size).toBe(first);
    expect(new Set(sink.received.map((x) => x.event.source)).size).toBe(1); // one store, one source

    await r.kill(0);
    await Promise.all(repos.map((repo, i) => pushRound(repo, 2, 10 + i)));
    const second = first + repos.length * 4; // 2 pushes, 2 moves each
    await sink.waitFor((got) => got.length >= second, 30_000);
    await new Promise((res) => setTimeout(res, 2000));
    expect(sink.received.length).toBe(second);
    expect(new Set(sink.received.map((x) => x.event.id)).size).toBe(second);
  }, 90_000);
});
