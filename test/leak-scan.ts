/**
 * The leak scanner of spec §4: no secret, in raw, base64 (std and url-safe),
 * URL-encoded (encodeURIComponent and form-urlencoded) or JSON-escaped form, may appear in anything a run leaves behind.
 * `::add-mask::` lines are the one place a secret is meant to be written.
 */
export function secretVariants(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  // Form-urlencoded as URLSearchParams writes it (space '+', '~' '%7E'): how a client secret travels in a token request.
  const form = new URLSearchParams([['', secret]]).toString().slice(1);
  return [...new Set([secret, b64, b64.replace(/=+$/, ''), Buffer.from(secret).toString('base64url'), encodeURIComponent(secret), form, JSON.stringify(secret).slice(1, -1)])];
}

export interface Leak {
  readonly where: string;
  readonly form: string;
}

export function findLeaks(sources: Record<string, string>, secrets: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  for (const [where, raw] of Object.entries(sources)) {
    const text = raw
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const s of secrets) {
      if (s.length < 8) continue;
      for (const v of secretVariants(s)) {
        if (text.includes(v)) leaks.push({ where, form: v === s ? 'raw' : v.slice(0, 6) + '…' });
      }
    }
  }
  return leaks;
}
