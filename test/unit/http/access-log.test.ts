import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { accessLine, directAccessWriter, type AccessFigures } from '../../../src/http/access-log.js';

/** A JSON-lines destination that keeps what it is given. */
function sink() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

const base: AccessFigures = {
  method: 'GET',
  url: '/v2/team/app/manifests/v1.2',
  status: 200,
  elapsedMs: 0.4,
  route: 'manifest',
  repository: 'team/app',
  bytesIn: Number(undefined),
  bytesOut: 527,
};

const cases: [string, AccessFigures][] = [
  ['a GET by tag', base],
  ['a HEAD (no bytesOut)', { ...base, method: 'HEAD' }],
  ['a request with a body', { ...base, method: 'PUT', status: 201, bytesIn: 1234, bytesOut: 0, elapsedMs: 12.5 }],
  ['no repository', { ...base, url: '/v2/', route: 'base', repository: undefined, bytesOut: 2 }],
  ['characters JSON escapes', { ...base, url: '/v2/a"b\\c\u0001d/manifests/x', repository: 'a"b\\c\u0001d', status: 404 }],
  ['characters beyond ASCII', { ...base, url: '/v2/caf\u00e9/manifests/\u00fc', repository: 'caf\u00e9' }],
  ['a URL longer than pino escapes by hand', { ...base, url: `/v2/${'a/'.repeat(80)}b"c/manifests/v1`, repository: `${'a/'.repeat(80)}b"c` }],
];

describe('directAccessWriter', () => {
  afterEach(() => void vi.restoreAllMocks());

  for (const [what, figures] of cases) {
    it(`writes the line pino writes for ${what}, byte for byte`, () => {
      vi.spyOn(Date, 'now').mockReturnValue(1_796_000_000_123);
      const viaPino = sink();
      const direct = sink();
      // as serve.ts makes berth's JSON logger
      const log = pino({ level: 'info' }, viaPino) as unknown as FastifyBaseLogger;
      log.info(accessLine(figures, 'req-1a'), 'request');
      directAccessWriter(log, direct)(figures, 'req-1a');
      expect(direct.lines).toEqual(viaPino.lines);
      expect(direct.lines).toHaveLength(1);
      expect(JSON.parse(direct.lines[0]!)).toMatchObject({ level: 30, time: 1_796_000_000_123, reqId: 'req-1a', url: figures.url, msg: 'request' });
    });
  }
});
