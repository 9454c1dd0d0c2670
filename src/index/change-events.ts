/** The events a change makes, built alike by every index engine (see ChangeEvent in metadata.ts). */
import type { ChangeEvent, ManifestRecord } from './metadata.js';

/** A manifest push's events: the push (with every tag it names), then each tag it moved. */
export function pushEvents(repo: string, record: ManifestRecord, tags: readonly string[], moved: { tag: string; from: string }[]): ChangeEvent[] {
  const at = Date.now();
  const data: Record<string, unknown> = { digest: record.digest, mediaType: record.mediaType, size: record.size, tags: [...tags] };
  if (record.artifactType !== undefined) data.artifactType = record.artifactType;
  if (record.subject !== undefined) data.subject = record.subject;
  return [
    { type: 'manifest.pushed', repo, at, data },
    ...moved.map((m): ChangeEvent => ({ type: 'tag.moved', repo, at, data: { tag: m.tag, from: m.from, to: record.digest } })),
  ];
}
