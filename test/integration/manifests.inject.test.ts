import { manifestEndpointSuite } from '../shared/manifest-endpoints.suite.js';

manifestEndpointSuite('inject');
