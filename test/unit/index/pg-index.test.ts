import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../../src/index/pg-schema.js';
import { indexSuite } from '../../shared/index.suite.js';
import { PgIndex } from '../../../src/index/pg-index.js';
import { pgDatabase } from '../../helpers/postgres.js';

let url: string;
let schemas = 0;
beforeAll(async () => {
  url = await pgDatabase('index_suite');
});

// each test gets a fresh schema in this file's database
indexSuite('PostgreSQL', (events) => PgIndex.open({ url, schema: `suite_${++schemas}`, poolSize: 4, connectTimeoutMs: 5_000, queryTimeoutMs: 15_000 }, events));

describe('PostgreSQL schema migrations', () => {
  it('lets berths that start together against an empty database migrate once, without racing', async () => {
    const db = await pgDatabase('migrate');
    const opts = { url: db, schema: 'berth', poolSize: 2, connectTimeoutMs: 5_000, queryTimeoutMs: 15_000 };
    const all = await Promise.all(Array.from({ length: 4 }, () => PgIndex.open(opts)));
    await all[0]!.linkBlob('r', `sha256:${'a'.repeat(64)}`, 1);
    expect(await all[3]!.blobLink('r', `sha256:${'a'.repeat(64)}`)).toEqual({ size: 1 });
    for (const ix of all) await ix.close();
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: db });
    await client.connect();
    const { rows } = await client.query<{ version: number }>('SELECT version FROM berth.berth_migrations ORDER BY version');
    await client.end();
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });
});
