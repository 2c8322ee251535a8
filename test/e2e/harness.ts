export * from '../../sim/runner.js';
