/** Starts delivering the event sinks' queues (`events.sinks`); loaded only when there are sinks. */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { readOrCreate } from '../auth/key-file.js';
import type { OpenRegistry } from '../open.js';
import { EventDelivery } from './delivery.js';
import { HttpSink } from './http-sink.js';
import { DEFAULT_MAX_QUEUED, type EventSinkConfig, type EventsConfig } from './sinks.js';

export async function startEvents(config: EventsConfig & { sinks: EventSinkConfig[] }, root: string, opened: OpenRegistry, log: FastifyBaseLogger): Promise<EventDelivery> {
  const store = await storeId(root, opened);
  const delivery = new EventDelivery({
    queues: opened.registry.events,
    leases: opened.registry.coordination.leases,
    sinks: config.sinks.map((s) => new HttpSink(s)),
    maxQueued: config.maxQueued ?? DEFAULT_MAX_QUEUED,
    source: config.source ?? `urn:berth:${store}`,
    store,
    log,
    shared: opened.registry.coordination.shared,
  });
  delivery.start();
  return delivery;
}

/**
 * The store's id, made once with its first event delivery: every event id starts with it, so ids
 * stay unique across stores (two sites sending to one sink) and across a store made anew. Replicas
 * share it through the metadata database, one node keeps it in its root.
 */
function storeId(root: string, opened: OpenRegistry): Promise<string> {
  const make = async () => randomUUID();
  const shared = opened.index.shared;
  return shared ? shared.auth.secret('events-store-id', make) : readOrCreate(join(root, 'events', 'store-id'), make);
}
