import { beforeAll } from 'vitest';
import { indexSuite } from '../../shared/index.suite.js';
import { PgIndex } from '../../../src/index/pg-index.js';
import { pgDatabase } from '../../helpers/postgres.js';

let url: string;
let schemas = 0;
beforeAll(async () => {
  url = await pgDatabase('index_suite');
});

// each test gets a fresh schema in this file's database
indexSuite('PostgreSQL', () => PgIndex.open({ url, schema: `suite_${++schemas}`, poolSize: 4, connectTimeoutMs: 5_000, queryTimeoutMs: 15_000 }));
