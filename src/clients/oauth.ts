import { z } from 'zod';
import { HttpClient, type AuthSource } from '../http/client.js';
import { registerSecret } from '../secrets.js';
import type { SystemName } from '../errors.js';
import type { RetryPolicy } from '../http/retry.js';

const TokenSchema = z.looseObject({ access_token: z.string().min(1), expires_in: z.coerce.number().positive() });

export interface ClientCredentials {
  readonly tokenPath: string;
  readonly form: Readonly<Record<string, string>>;
  /** The API client's retry policy, so a token request retries as the calls it serves do. */
  readonly retry?: RetryPolicy;
}

/**
 * OAuth 2.0 client-credentials token, re-minted before it expires. The lifetime
 * is whatever `expires_in` says (Jamf's is configurable per API client), never
 * hard-coded; we renew at 80 % of it so a long validation poll never sends a
 * stale token.
 */
export class ClientCredentialsToken implements AuthSource {
  readonly #http: HttpClient;
  readonly #creds: ClientCredentials;
  #token: string | undefined;
  #renewAt = 0;
  #pending: Promise<string> | undefined;

  constructor(system: SystemName, tokenBaseUrl: string, userAgent: string, creds: ClientCredentials) {
    this.#creds = creds;
    this.#http = new HttpClient({
      system,
      baseUrl: tokenBaseUrl,
      userAgent,
      timeoutMs: 30_000,
      ...(creds.retry ? { retry: creds.retry } : {}),
      // RFC 6749 §5.2 error body: {error, error_description}.
      describeError: (_s, text) => {
        try {
          const b = JSON.parse(text) as Record<string, unknown>;
          return {
            ...(typeof b['error'] === 'string' ? { code: b['error'] } : {}),
            message: String(b['error_description'] ?? '').split('\n')[0] ?? '',
          };
        } catch {
          return { message: '' };
        }
      },
    });
  }

  get current(): string | undefined {
    return this.#token;
  }

  async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.get()}` };
  }

  invalidate(): void {
    this.#token = undefined;
  }

  async get(): Promise<string> {
    if (this.#token && Date.now() < this.#renewAt) return this.#token;
    this.#pending ??= this.#mint().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #mint(): Promise<string> {
    const body = await this.#http.json({
      method: 'POST',
      path: this.#creds.tokenPath,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(this.#creds.form).toString(),
    });
    const raw = body as Record<string, unknown> | undefined;
    if (raw && typeof raw['access_token'] === 'string') registerSecret(raw['access_token']);
    const parsed = TokenSchema.safeParse(body);
    if (!parsed.success) throw new Error(`${this.#http.system}: token response has no access_token/expires_in`);
    this.#token = parsed.data.access_token;
    this.#renewAt = Date.now() + parsed.data.expires_in * 800;
    return this.#token;
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}
