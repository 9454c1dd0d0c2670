/** Assertions for the suite: each failure says what the spec expects and what the registry did. */
import type { Res } from './client.js';

export class Failure extends Error {}

export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Failure(message);
}

export function status(r: Res, ...want: number[]): void {
  check(want.includes(r.status), `expected status ${want.join(' or ')}, got ${r.status}${brief(r)}`);
}

export function header(r: Res, name: string, want?: string | RegExp): string {
  const v = r.headers.get(name);
  check(v !== null, `missing ${name} header`);
  if (typeof want === 'string') check(v === want, `${name}: expected ${want}, got ${v}`);
  if (want instanceof RegExp) check(want.test(v), `${name}: expected ${want}, got ${v}`);
  return v;
}

/** distribution-spec "Error Codes": the JSON envelope, with a code from the table. */
export const SPEC_CODES = [
  'BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED',
  'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS',
];

export function errorEnvelope(r: Res, statuses: number[], codes: string[]): void {
  status(r, ...statuses);
  let body: { errors?: { code?: unknown; message?: unknown }[] };
  try {
    body = r.json();
  } catch {
    throw new Failure(`error body is not JSON: ${r.text().slice(0, 120)}`);
  }
  check(Array.isArray(body.errors) && body.errors.length > 0, 'error body has no "errors" list');
  const code = String(body.errors[0]!.code);
  check(SPEC_CODES.includes(code), `error code ${code} is not in the spec's table`);
  check(codes.includes(code), `expected error code ${codes.join(' or ')}, got ${code}`);
}

function brief(r: Res): string {
  const t = r.text().trim();
  return t ? ` (${t.slice(0, 160)})` : '';
}
