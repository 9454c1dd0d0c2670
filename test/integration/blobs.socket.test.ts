import { blobEndpointSuite } from '../shared/blob-endpoints.suite.js';

blobEndpointSuite('socket');
