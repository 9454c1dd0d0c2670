/**
 * `events`: where berth sends what changed. Each sink is an HTTP endpoint that takes CloudEvents
 * (cloudevent.ts) with its own filters; this module checks the configuration and routes each event
 * to the sinks whose filters it passes. It is small and loads no client: the index calls the router
 * on every change it writes (see EventRouter in index/metadata.ts).
 */
import { globToRegExp } from '../auth/policy.js';
import { EVENT_TYPES, type EventRouter, type EventType } from '../index/metadata.js';

export interface EventSinkConfig {
  /** Names the sink in metrics, logs and its queue (letters, digits, `.`, `_`, `-`). */
  name: string;
  /** Where events are POSTed (http or https). */
  url: string;
  /** Sent with every POST (an API key header, a routing header). */
  headers?: Record<string, string>;
  /** `Authorization: Bearer <token>`, or the token read from a file (a mounted Secret). */
  token?: string;
  tokenFile?: string;
  /** PEM file of the CA that signed the sink's certificate. */
  ca?: string;
  /** Repository globs (`team-a/**`); absent: every repository. */
  repositories?: string[];
  /** Event types; absent: every type but manifest.pulled (pulls are many: name it to get them). */
  types?: string[];
  /** One POST's time limit (default 10s): past it the delivery counts as failed and is retried. */
  timeout?: string | number;
}

export interface EventsConfig {
  sinks?: EventSinkConfig[];
  /** Events waiting per sink at most (default 100000); past it the oldest are dropped, counted and logged. */
  maxQueued?: number;
  /** The CloudEvents `source` (default `urn:berth:<store id>`). */
  source?: string;
}

export const DEFAULT_MAX_QUEUED = 100_000;
const SINK_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_TYPES: readonly EventType[] = EVENT_TYPES.filter((t) => t !== 'manifest.pulled');

/** Semantic checks past the configuration's shape; returns a message naming the place, or undefined. */
export function eventsConfigProblem(events: EventsConfig | undefined): string | undefined {
  const names = new Set<string>();
  for (const [i, s] of (events?.sinks ?? []).entries()) {
    const at = `events.sinks[${i}]`;
    if (!SINK_NAME.test(s.name)) return `${at}.name: letters, digits, '.', '_' and '-' only (at most 64), got ${JSON.stringify(s.name)}`;
    if (names.has(s.name)) return `${at}.name: ${s.name} names two sinks`;
    names.add(s.name);
    let url: URL | undefined;
    try {
      url = new URL(s.url);
    } catch {
      /* reported below */
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return `${at}.url: an http or https URL, got ${JSON.stringify(s.url)}`;
    if (s.token !== undefined && s.tokenFile !== undefined) return `${at}: token or tokenFile, not both`;
    for (const t of s.types ?? []) if (!EVENT_TYPES.includes(t as EventType)) return `${at}.types: ${JSON.stringify(t)} is not one of ${EVENT_TYPES.join(', ')}`;
    if (s.types?.length === 0 || s.repositories?.length === 0) return `${at}: an empty list of types or repositories would send nothing; leave it out for all`;
  }
  const max = events?.maxQueued;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) return 'events.maxQueued: a whole number of at least 1';
  return undefined;
}

/** Whether events are on: some sink is configured. */
export function eventsEnabled(events: EventsConfig | undefined): events is EventsConfig & { sinks: EventSinkConfig[] } {
  return (events?.sinks?.length ?? 0) > 0;
}

/** The index's router for these sinks: which of them take an event of `type` about `repo`. */
export function eventRouter(sinks: readonly EventSinkConfig[]): EventRouter {
  const compiled = sinks.map((s) => ({
    name: s.name,
    types: new Set<string>(s.types ?? DEFAULT_TYPES),
    repos: s.repositories?.map(globToRegExp),
  }));
  return (type, repo) => {
    const out: string[] = [];
    for (const s of compiled) if (s.types.has(type) && (!s.repos || s.repos.some((re) => re.test(repo)))) out.push(s.name);
    return out;
  };
}

/** Whether some sink asked for pulls: only then is each manifest GET recorded as an event. */
export function routesPulls(sinks: readonly EventSinkConfig[]): boolean {
  return sinks.some((s) => s.types?.includes('manifest.pulled'));
}
