import { authMatrixSuite } from '../shared/auth-matrix.suite.js';

authMatrixSuite('basic');
authMatrixSuite('token');
