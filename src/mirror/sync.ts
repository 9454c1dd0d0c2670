/**
 * Scheduled sync (issue 7, mirror.sync.images): repositories whose matching tags are fetched ahead of
 * need, so the cache is warm before the uplink goes away. Everything goes through the pull-through
 * path, so a sync and clients asking for the same content share one fetch.
 */
import type { FastifyBaseLogger } from 'fastify';
import { globToRegExp } from '../auth/policy.js';
import type { ManifestRecord } from '../index/metadata.js';
import { keptChildren, type Platform } from '../oci/platforms.js';
import { parseManifest } from '../oci/manifest.js';
import type { PullThrough } from './pull-through.js';
import { canonicalHost, upstreamRepo, type MirrorNames, type Remote } from './names.js';

export interface SyncImage {
  /** `<host>/<path>`: `docker.io/library/alpine`, `quay.io/kairos/core`. */
  repository: string;
  /** Glob patterns over tags (default: `latest`). */
  tags?: string[];
}

export interface SyncReport {
  images: number;
  tags: number;
  manifests: number;
  blobs: number;
  errors: string[];
  ms: number;
}

/** `docker.io/library/alpine` -> its upstream host and repository. */
export function splitRepository(repository: string): Remote {
  const slash = repository.indexOf('/');
  if (slash < 0) throw new Error(`${repository}: expected <host>/<repository>`);
  const host = canonicalHost(repository.slice(0, slash));
  return { host, repo: upstreamRepo(host, repository.slice(slash + 1)) };
}

export class MirrorSync {
  private running: Promise<SyncReport> | undefined;
  last: SyncReport | undefined;

  constructor(
    private readonly images: SyncImage[],
    private readonly names: MirrorNames,
    private readonly pull: PullThrough,
    /** mirror.platforms: of an index, only these platforms' children are fetched ahead. */
    private readonly platforms?: readonly Platform[],
    public log?: FastifyBaseLogger,
  ) {}

  run(): Promise<SyncReport> {
    this.running ??= this.sync().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sync(): Promise<SyncReport> {
    const started = Date.now();
    const report: SyncReport = { images: 0, tags: 0, manifests: 0, blobs: 0, errors: [], ms: 0 };
    for (const image of this.images) {
      report.images++;
      try {
        const remote = splitRepository(image.repository);
        const upstream = this.pull.upstreams.get(remote.host);
        if (!upstream) throw new Error(`no upstream for ${remote.host}`);
        const local = this.names.local(remote.host, remote.repo);
        const patterns = (image.tags ?? ['latest']).map(globToRegExp);
        const tags = (await upstream.tags(remote.repo)).filter((t) => patterns.some((p) => p.test(t)));
        for (const tag of tags) {
          report.tags++;
          await this.walk(local, remote, tag, report);
        }
      } catch (err) {
        report.errors.push(`${image.repository}: ${(err as Error).message}`);
      }
    }
    report.ms = Date.now() - started;
    this.last = report;
    this.log?.info({ sync: report }, 'mirror sync');
    return report;
  }

  private async walk(local: string, remote: Remote, ref: string, report: SyncReport): Promise<void> {
    const { record, bytes }: { record: ManifestRecord; bytes: Buffer } = await this.pull.manifest(local, remote, ref);
    report.manifests++;
    let children = record.manifests;
    if (this.platforms && children.length) {
      const kept = keptChildren(parseManifest(bytes, record.mediaType).children ?? [], this.platforms);
      children = children.filter((c) => kept.has(c));
    }
    for (const child of children) await this.walk(local, remote, child, report);
    for (const blob of record.blobs) {
      await this.pull.prefetchBlob(local, remote, blob);
      report.blobs++;
    }
  }
}
