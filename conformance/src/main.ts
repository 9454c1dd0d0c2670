/**
 * berth's black-box conformance suite: written from the OCI distribution spec v1.1, it runs against
 * any registry URL, prints one line per case and ends with `N passed, M failed`.
 *
 *   npm run conformance -- --url http://HOST:PORT [--user U --password P] [--namespace NS]
 *                          [--only pull,push,...] [--json FILE]
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from './client.js';
import { Context, type Case } from './context.js';
import { Failure } from './check.js';
import { pullCases } from './cases/pull.js';
import { pushBlobCases } from './cases/push-blobs.js';
import { pushManifestCases } from './cases/push-manifests.js';
import { discoveryCases } from './cases/discovery.js';
import { referrerCases } from './cases/referrers.js';
import { managementCases } from './cases/management.js';
import { errorCases } from './cases/errors.js';

export const ALL_CASES: Case[] = [
  ...pullCases, ...pushBlobCases, ...pushManifestCases, ...discoveryCases, ...referrerCases, ...managementCases, ...errorCases,
];

export interface Result {
  workflow: string;
  name: string;
  ok: boolean;
  detail?: string;
  ms: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      namespace: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (!values.url) {
    process.stderr.write('usage: conformance --url http://HOST:PORT [--user U --password P] [--namespace NS] [--only W,..] [--json FILE]\n');
    return 2;
  }
  const client = new Client({ url: values.url, user: values.user, password: values.password });
  const ns = values.namespace ?? `conformance/run-${randomBytes(4).toString('hex')}`;
  const only = values.only?.split(',');
  const ctx = new Context(client, ns);
  const cases = ALL_CASES.filter((c) => !only || only.includes(c.workflow));
  const results: Result[] = [];
  for (const c of cases) {
    const t = Date.now();
    let ok = true;
    let detail: string | undefined;
    try {
      await c.run(ctx);
    } catch (err) {
      ok = false;
      detail = err instanceof Failure ? err.message : `error: ${(err as Error).message}`;
    }
    results.push({ workflow: c.workflow, name: c.name, ok, detail, ms: Date.now() - t });
    process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${c.workflow.padEnd(10)} ${c.name}${detail ? `\n        ${detail}` : ''}\n`);
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (values.json) await writeFile(values.json, JSON.stringify({ url: values.url, results }, null, 2));
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  if (process.env.BERTH_SUMMARY_FILE) await appendFile(process.env.BERTH_SUMMARY_FILE, `conformance ${passed} ${failed}\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
