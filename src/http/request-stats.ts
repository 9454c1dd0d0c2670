/**
 * The per-request metrics, kept in plain numbers and written in the Prometheus text exposition
 * format (version 0.0.4) at scrape time. They change on every request, so recording one must cost
 * next to nothing: prom-client hashes the label set on every inc() and observe() (about 14,000
 * instructions a request, measured with callgrind, 8% of a cached manifest GET); here it is one map
 * lookup and a few additions. prom-client still writes every other metric (src/http/metrics.ts).
 *
 * Families: berth_http_requests_total{route,method,status}, berth_http_request_duration_seconds
 * {route,method} (a histogram), berth_http_request_bytes_total{route} (Content-Length of requests)
 * and berth_http_response_bytes_total{route} (of responses, HEAD excluded). Label values are berth's
 * own (route kinds, methods, statuses): nothing a client sends reaches them.
 */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120] as const;

interface Series {
  route: string;
  method: string;
  status: number;
  count: number;
  seconds: number;
  /** Observations per bucket, not cumulative; the last slot is above the largest bound. */
  buckets: number[];
  bytesIn: number;
  bytesOut: number;
}

export class RequestStats {
  private readonly series = new Map<string, Series>();

  observe(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    const key = `${route} ${method} ${status}`;
    let s = this.series.get(key);
    if (!s) {
      s = { route, method, status, count: 0, seconds: 0, buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), bytesIn: 0, bytesOut: 0 };
      this.series.set(key, s);
    }
    s.count++;
    s.seconds += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    s.buckets[i]!++;
    s.bytesIn += bytesIn;
    s.bytesOut += bytesOut;
  }

  /** The four families, each with its HELP and TYPE lines. */
  exposition(): string {
    const all = [...this.series.values()];
    const lines: string[] = [];
    lines.push('# HELP berth_http_requests_total HTTP requests completed', '# TYPE berth_http_requests_total counter');
    for (const s of all) lines.push(`berth_http_requests_total{route="${s.route}",method="${s.method}",status="${s.status}"} ${s.count}`);

    lines.push('# HELP berth_http_request_duration_seconds Time to complete a request', '# TYPE berth_http_request_duration_seconds histogram');
    for (const [labels, group] of groupBy(all, (s) => `route="${s.route}",method="${s.method}"`)) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += sum(group, (s) => s.buckets[i]!);
        lines.push(`berth_http_request_duration_seconds_bucket{le="${le}",${labels}} ${cumulative}`);
      });
      const count = sum(group, (s) => s.count);
      lines.push(`berth_http_request_duration_seconds_bucket{le="+Inf",${labels}} ${count}`);
      lines.push(`berth_http_request_duration_seconds_sum{${labels}} ${sum(group, (s) => s.seconds)}`);
      lines.push(`berth_http_request_duration_seconds_count{${labels}} ${count}`);
    }

    for (const [name, help, field] of [
      ['berth_http_request_bytes_total', 'Request body bytes declared by Content-Length', 'bytesIn'],
      ['berth_http_response_bytes_total', 'Response body bytes (Content-Length)', 'bytesOut'],
    ] as const) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [labels, group] of groupBy(all, (s) => `route="${s.route}"`)) {
        const n = sum(group, (s) => s[field]);
        if (n > 0) lines.push(`${name}{${labels}} ${n}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return m;
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
