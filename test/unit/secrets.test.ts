import { describe, expect, it } from 'vitest';
import { captureStdout } from '../capture-stdout.js';
import { formEncoded, redact, registerSecret, secretForms } from '../../src/secrets.js';

const stdout = captureStdout();

/** An Entra client secret has this shape ("~" in it), and a token request sends it form-urlencoded. */
const ENTRA = 'Abc8Q~xY_z.0-9 tail!(x)*';

describe('form-urlencoded forms of a secret', () => {
  it('encodes as URLSearchParams (the token request body) does: space "+", "~" "%7E", "!()" escaped, "*-._" kept', () => {
    expect(formEncoded(ENTRA)).toBe('Abc8Q%7ExY_z.0-9+tail%21%28x%29*');
    expect(formEncoded(ENTRA)).toBe(
      new URLSearchParams({ client_secret: ENTRA }).toString().slice('client_secret='.length),
    );
    expect(encodeURIComponent(ENTRA)).toBe('Abc8Q~xY_z.0-9%20tail!(x)*');
  });

  it('is one of the forms masked and scrubbed', () => {
    expect(secretForms(ENTRA)).toEqual(expect.arrayContaining([ENTRA, encodeURIComponent(ENTRA), formEncoded(ENTRA)]));
    registerSecret(ENTRA);
    // Command data escapes '%' as '%25'; the runner unescapes it before masking.
    expect(stdout.text).toContain(`::add-mask::${formEncoded(ENTRA).replace(/%/g, '%25')}\n`);
    expect(redact(`grant_type=client_credentials&client_secret=${formEncoded(ENTRA)}&scope=x`)).toBe(
      'grant_type=client_credentials&client_secret=***&scope=x',
    );
  });
});
