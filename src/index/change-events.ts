/** The events a change makes, built alike by every index engine (see ChangeEvent in metadata.ts). */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChangeActor, ChangeEvent, ManifestRecord } from './metadata.js';

/**
 * Who is making the changes of the current request: the HTTP layer sets it around a request's
 * handler (events on only: an AsyncLocalStorage costs every promise under it), and the index puts
 * it on the events it records. Changes no request makes (garbage collection, retention) have none.
 */
const actors = new AsyncLocalStorage<ChangeActor>();

export function withActor<T>(actor: ChangeActor, fn: () => T): T {
  return actors.run(actor, fn);
}

/** `event` with the current request's actor, when there is one. */
export function withCurrentActor(event: ChangeEvent): ChangeEvent {
  const actor = actors.getStore();
  return actor ? { ...event, actor } : event;
}

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
