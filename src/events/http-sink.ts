/** One sink's HTTP side: a POST per event, with the sink's headers, token, CA and time limit. */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { durationMs } from '../config/config.js';
import { CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from './cloudevent.js';
import type { EventSinkConfig } from './sinks.js';

export class HttpSink {
  readonly name: string;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(private readonly config: EventSinkConfig) {
    this.name = config.name;
    this.timeoutMs = durationMs(config.timeout ?? '10s');
    this.agent = new Agent({
      connect: { timeout: this.timeoutMs, ...(config.ca ? { ca: readFileSync(config.ca) } : {}) },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    this.headers = { ...config.headers, 'content-type': CLOUDEVENTS_CONTENT_TYPE };
  }

  /** Resolves when the sink took the event (any 2xx); throws, saying why, when it did not. */
  async post(event: CloudEvent): Promise<void> {
    const headers = { ...this.headers, ...this.authorization() };
    const r = await request(this.config.url, { method: 'POST', body: JSON.stringify(event), headers, dispatcher: this.agent, signal: AbortSignal.timeout(this.timeoutMs) });
    await r.body.dump();
    if (r.statusCode < 200 || r.statusCode > 299) throw new Error(`${this.config.url} answered HTTP ${r.statusCode}`);
  }

  private fileToken?: { token: string; readAt: number };

  /** A token file is read again after 10 s: a rotated Secret is taken without a restart. */
  private authorization(): Record<string, string> {
    let token = this.config.token;
    if (this.config.tokenFile) {
      if (!this.fileToken || Date.now() - this.fileToken.readAt > 10_000) {
        this.fileToken = { token: readFileSync(this.config.tokenFile, 'utf8').trim(), readAt: Date.now() };
      }
      token = this.fileToken.token;
    }
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
