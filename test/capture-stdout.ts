import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures what the code under test writes to stdout (where @actions/core writes log lines and
 * workflow commands) for every test of the file that calls it. Read `.text` inside a test.
 */
export function captureStdout(): { text: string } {
  const captured = { text: '' };
  beforeEach(() => {
    captured.text = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      captured.text += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return captured;
}
