/**
 * Microsoft identity platform simulator: the v2.0 client-credentials token endpoint
 * (reference/mdm.md §6). It issues the bearer tokens the Graph simulator accepts.
 */
import { json, parseForm, type Handler, type SimRequest, type SimResponse } from './http.js';
import { ALNUM, type Rng } from './util.js';

export interface LoginConfig {
  azureTenantId: string;
  clientId: string;
  clientSecret: string;
  tokenTtlSeconds: number;
  rng: Rng;
}

export class LoginState {
  private readonly cfg: LoginConfig;
  private readonly tokens = new Map<string, number>();
  /** Set once the Graph server is listening: the only scope accepted is `<graphUrl>/.default`. */
  graphUrl = '';

  constructor(cfg: LoginConfig) {
    this.cfg = cfg;
  }

  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }
  /** Validates a Graph bearer token. */
  check(token: string | undefined): 'ok' | 'missing' | 'expired' | 'invalid' {
    if (!token) return 'missing';
    const exp = this.tokens.get(token);
    if (exp === undefined) return 'invalid';
    return Date.now() < exp ? 'ok' : 'expired';
  }

  handler: Handler = (req) => this.route(req);

  private route(req: SimRequest): SimResponse {
    const m = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/.exec(req.path);
    if (!m || req.method !== 'POST')
      return json(404, {
        error: 'not_found',
        error_description: `AADSTS90002: no endpoint ${req.method} ${req.path}`,
        error_codes: [90002],
      });
    if (m[1] !== this.cfg.azureTenantId) {
      return this.err(
        400,
        'invalid_request',
        `AADSTS90002: Tenant '${m[1] ?? ''}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        90002,
      );
    }
    if (!(req.header('content-type') ?? '').includes('application/x-www-form-urlencoded')) {
      return this.err(
        400,
        'invalid_request',
        "AADSTS900144: The request body must contain the following parameter: 'grant_type'.",
        900144,
      );
    }
    const f = parseForm(req);
    if (f.get('grant_type') !== 'client_credentials')
      return this.err(
        400,
        'unsupported_grant_type',
        'AADSTS70003: The app requested an unsupported grant type.',
        70003,
      );
    if (f.get('client_id') !== this.cfg.clientId) {
      return this.err(
        400,
        'unauthorized_client',
        `AADSTS700016: Application with identifier '${f.get('client_id') ?? ''}' was not found in the directory.`,
        700016,
      );
    }
    if (f.get('client_secret') !== this.cfg.clientSecret) {
      return this.err(
        401,
        'invalid_client',
        `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.cfg.clientId}'.`,
        7000215,
      );
    }
    if (f.get('scope') !== `${this.graphUrl}/.default`) {
      return this.err(
        400,
        'invalid_scope',
        `AADSTS1002012: The provided value for scope ${f.get('scope') ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        1002012,
      );
    }
    const ttl = this.cfg.tokenTtlSeconds;
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${this.cfg.rng.chars(ALNUM, 96)}.${this.cfg.rng.chars(ALNUM, 86)}`;
    this.tokens.set(token, Date.now() + ttl * 1000);
    return json(200, { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: token });
  }

  private err(status: number, error: string, description: string, code: number): SimResponse {
    const trace = this.cfg.rng.uuid();
    const when = new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
    return json(status, {
      error,
      error_description: `${description} Trace ID: ${trace} Correlation ID: ${trace} Timestamp: ${when}`,
      error_codes: [code],
      timestamp: when,
      trace_id: trace,
      correlation_id: trace,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    });
  }
}
