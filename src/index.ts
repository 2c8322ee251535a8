import { run } from './main.js';

// The entry point only calls run(): run() turns every error into one setFailed line.
void run();
