/**
 * An event as a CloudEvent, structured mode (CloudEvents 1.0, "HTTP Protocol Binding" section 3.2):
 * the whole event is the JSON body, sent as `application/cloudevents+json`. A sink may see an event
 * more than once (delivery is at least once); `id` is the same each time, and unique for this store
 * (`source` + `id` is the spec's identity, and `id` alone is unique across stores too).
 */
import type { QueuedEvent } from '../index/metadata.js';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  /** Reverse-DNS prefixed, as the spec recommends: dev.berth.manifest.pushed, dev.berth.tag.moved, ... */
  type: string;
  /** The repository. */
  subject: string;
  /** RFC 3339: when the change was written. */
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

/** `store`: this store's id (made once with it), which makes ids unique across stores. */
export function cloudEvent(e: QueuedEvent, source: string, store: string): CloudEvent {
  return {
    specversion: '1.0',
    id: `${store}-${e.seq}`,
    source,
    type: `dev.berth.${e.type}`,
    subject: e.repo,
    time: new Date(e.at).toISOString(),
    datacontenttype: 'application/json',
    data: { repository: e.repo, ...e.data, ...(e.actor ? { actor: e.actor } : {}) },
  };
}
