/** A parsed JSON value as an object with fields, or undefined (null, arrays and scalars are not). */
export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
