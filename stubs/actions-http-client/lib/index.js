// @actions/core 3 imports HttpClient for OidcClient (core.getIDToken) and for nothing else.
// thoth-rotate authenticates with its own credentials and never asks the runner for an OIDC
// token, so the real client (and the whole of undici's index it loads: fetch, WebSocket, cache
// and mock agents, ~40 ms and ~9 MB at every start) stays out of the bundle.
export class HttpClient {
  constructor() {
    throw new Error('thoth-rotate does not bundle @actions/http-client: core.getIDToken() is not available');
  }
}
