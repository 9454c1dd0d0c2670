/** The endpoint suites, unchanged, on the metadata index in PostgreSQL (through a real socket). */
import { blobEndpointSuite } from '../shared/blob-endpoints.suite.js';
import { manifestEndpointSuite } from '../shared/manifest-endpoints.suite.js';

manifestEndpointSuite('socket', 'postgres');
blobEndpointSuite('socket', 'postgres');
