import { registerSecret } from './secrets.js';

/**
 * A secret held in a private field. Accidental serialisation (a log line, JSON,
 * an error message built with a template string) yields `***`, never the value.
 */
export class SecretValue {
  readonly #value: string;
  constructor(value: string) {
    registerSecret(value);
    this.#value = value;
  }
  /** The plaintext, for the one place that must send it. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '***';
  }
  toJSON(): string {
    return '***';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'SecretValue(***)';
  }
}
