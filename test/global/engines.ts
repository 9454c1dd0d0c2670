/**
 * The engines a test run shares, started once before any test file (vitest globalSetup) and stopped
 * after the last: each file then takes its own database from them (test/helpers/postgres.ts). An
 * engine that cannot start does not stop the run: the tests that need it fail with the reason.
 */
import type { TestProject } from 'vitest/node';
import { removePostgres, startPostgres, type Postgres } from '../helpers/postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let pg: Postgres | undefined;
  try {
    pg = await startPostgres();
    project.provide('postgres', { url: pg.url });
  } catch (err) {
    project.provide('postgres', { error: (err as Error).message });
  }
  return async () => {
    if (pg) await removePostgres(pg);
  };
}
