/** The per-request metrics in the Prometheus text format (0.0.4): counters, a cumulative histogram, bytes by route. */
import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS, RequestStats } from '../../../src/http/request-stats.js';

describe('RequestStats', () => {
  it('writes counters by route, method and status, and a cumulative histogram by route and method', () => {
    const s = new RequestStats();
    s.observe('manifest', 'GET', 200, 0.0005, 0, 400);
    s.observe('manifest', 'GET', 200, 0.003, 0, 400);
    s.observe('manifest', 'GET', 404, 0.2, 0, 90);
    s.observe('blob', 'HEAD', 200, 500, 0, 0); // above the largest bound: only in +Inf
    s.observe('upload', 'POST', 201, 0.01, 1000, 0);
    const lines = s.exposition().split('\n');
    expect(lines).toContain('# TYPE berth_http_requests_total counter');
    expect(lines).toContain('berth_http_requests_total{route="manifest",method="GET",status="200"} 2');
    expect(lines).toContain('berth_http_requests_total{route="manifest",method="GET",status="404"} 1');
    expect(lines).toContain('# TYPE berth_http_request_duration_seconds histogram');
    const bucket = (le: string | number, labels: string) => lines.find((l) => l.startsWith(`berth_http_request_duration_seconds_bucket{le="${le}",${labels}} `))?.split(' ')[1];
    const m = 'route="manifest",method="GET"';
    expect(bucket(0.001, m)).toBe('1');
    expect(bucket(0.005, m)).toBe('2');
    expect(bucket(0.1, m)).toBe('2');
    expect(bucket(0.5, m)).toBe('3');
    expect(bucket(120, m)).toBe('3');
    expect(bucket('+Inf', m)).toBe('3');
    expect(lines).toContain(`berth_http_request_duration_seconds_count{${m}} 3`);
    expect(Number(lines.find((l) => l.startsWith(`berth_http_request_duration_seconds_sum{${m}}`))!.split(' ')[1])).toBeCloseTo(0.2035, 6);
    const b = 'route="blob",method="HEAD"';
    expect(bucket(DURATION_BUCKETS.at(-1)!, b)).toBe('0');
    expect(bucket('+Inf', b)).toBe('1');
    expect(lines).toContain('berth_http_response_bytes_total{route="manifest"} 890');
    expect(lines).toContain('berth_http_request_bytes_total{route="upload"} 1000');
    expect(lines.some((l) => l.startsWith('berth_http_response_bytes_total{route="blob"}'))).toBe(false);
    // every sample line is `name{labels} value`
    for (const l of lines.filter((x) => x && !x.startsWith('#'))) expect(l).toMatch(/^[a-z_]+\{[^}]*\} [0-9.e+-]+$/);
  });
});
