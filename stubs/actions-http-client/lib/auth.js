// See index.js: the OIDC client's credential handler, never constructed by thoth-rotate.
export class BearerCredentialHandler {
  constructor() {
    throw new Error('thoth-rotate does not bundle @actions/http-client: core.getIDToken() is not available');
  }
}
