import { testDir } from '../../helpers/tmp.js';
import { join } from 'node:path';
import { indexSuite } from '../../shared/index.suite.js';
import { LevelIndex } from '../../../src/index/level-index.js';

indexSuite('LevelDB', async (events) => {
  const ix = new LevelIndex(join(await testDir('berth-index-'), 'index'), true, events);
  await ix.open();
  return ix;
});
