/** What every case gets: the client, a namespace of its own, and the push steps cases build on. */
import type { Client, Res } from './client.js';
import { check, status } from './check.js';
import { DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, blob, emptyConfig, image, type Blob, type Manifest } from './content.js';

const ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(', ');

export type Workflow = 'pull' | 'push' | 'discovery' | 'management' | 'referrers' | 'errors';

export interface Case {
  workflow: Workflow;
  name: string;
  run(ctx: Context): Promise<void>;
}

export class Context {
  private n = 0;

  constructor(
    readonly client: Client,
    /** Every repository a run creates lives under this prefix. */
    readonly namespace: string,
  ) {}

  /** A fresh repository name for one case. */
  repo(label: string): string {
    this.n += 1;
    return `${this.namespace}/${label}-${this.n}`;
  }

  /** Manifest requests carry the Accept list real clients send (registries may negotiate on it). */
  req(method: string, path: string, init: Parameters<Client['request']>[2] = {}): Promise<Res> {
    const headers = { ...init.headers };
    if (path.includes('/manifests/') && !Object.keys(headers).some((h) => h.toLowerCase() === 'accept')) headers.accept = ACCEPT;
    return this.client.request(method, path, { ...init, headers });
  }

  /** POST to open a session; returns its Location. */
  async open(repo: string): Promise<string> {
    const r = await this.req('POST', `/v2/${repo}/blobs/uploads/`);
    status(r, 202);
    const loc = r.headers.get('location');
    check(loc, 'POST /blobs/uploads/ returned no Location');
    return loc;
  }

  /** `<location>?digest=` keeping whatever query the Location already had. */
  withDigest(location: string, digest: string): string {
    const u = new URL(this.client.resolve(location));
    u.searchParams.set('digest', digest);
    return u.toString();
  }

  /** POST then PUT ?digest= with the whole blob (end-4a, end-6): the most widely supported push. */
  async pushBlob(repo: string, b: Blob): Promise<void> {
    const loc = await this.open(repo);
    const r = await this.req('PUT', this.withDigest(loc, b.digest), {
      headers: { 'content-type': 'application/octet-stream' },
      body: b.bytes,
    });
    status(r, 201);
  }

  async pushManifest(repo: string, ref: string, m: Manifest): Promise<Res> {
    const r = await this.req('PUT', `/v2/${repo}/manifests/${ref}`, { headers: { 'content-type': m.mediaType }, body: m.bytes });
    status(r, 201);
    return r;
  }

  /** A small image (config + one layer) pushed under `tag`. */
  async pushImage(repo: string, tag: string, extra: object = {}): Promise<{ config: Blob; layer: Blob; manifest: Manifest }> {
    const config = blob(64);
    const layer = blob(1024);
    await this.pushBlob(repo, config);
    await this.pushBlob(repo, layer);
    const m = image(config, [layer], extra);
    await this.pushManifest(repo, tag, m);
    return { config, layer, manifest: m };
  }

  async pushEmptyConfig(repo: string): Promise<Blob> {
    const e = emptyConfig();
    await this.pushBlob(repo, e);
    return e;
  }
}
