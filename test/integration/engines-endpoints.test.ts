/** The endpoint suites, unchanged, with the metadata in PostgreSQL, and with the blobs in S3 (Ceph RGW) too. */
import { blobEndpointSuite } from '../shared/blob-endpoints.suite.js';
import { manifestEndpointSuite } from '../shared/manifest-endpoints.suite.js';

for (const engine of ['postgres', 's3+postgres'] as const) {
  manifestEndpointSuite('socket', engine);
  blobEndpointSuite('socket', engine);
}
