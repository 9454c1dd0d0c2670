import { localCoordination } from '../../../src/registry/coordination.js';
import { coordinationSuite } from '../../shared/coordination.suite.js';

// one process: both handles are the same object
coordinationSuite('in-process', async () => {
  const c = localCoordination();
  return { a: c, b: c, close: () => c.close() };
});
