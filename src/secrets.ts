import * as core from '@actions/core';

/**
 * Every secret this process has seen. Used to scrub text that leaves the process
 * through a channel the runner does not mask (evidence files, commit messages,
 * API error details echoed back by a server).
 */
const known = new Set<string>();

/**
 * The application/x-www-form-urlencoded form (WHATWG URL "urlencoded serializer", what
 * URLSearchParams and every OAuth token request body produce): only ASCII alphanumerics and
 * `*-._` stay, space is `+`, everything else (`~ ! ' ( )` included, unlike
 * encodeURIComponent) is %XX with upper-case hex.
 */
export const formEncoded = (value: string): string => new URLSearchParams([['', value]]).toString().slice(1);

/** The encoded forms a secret may take on its way into a log or a file. */
export function secretForms(value: string): string[] {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  return [
    value,
    b64,
    b64.replace(/=+$/, ''),
    Buffer.from(value, 'utf8').toString('base64url'),
    encodeURIComponent(value),
    formEncoded(value),
    JSON.stringify(value).slice(1, -1),
  ];
}

/**
 * Mask a secret and its derived forms the moment it exists, before any line can
 * print it (the runner masks only output that comes after `::add-mask::`).
 */
export function registerSecret(value: string | undefined): void {
  if (!value || value.trim() === '') return;
  for (const form of new Set(secretForms(value))) {
    if (known.has(form) || form.length < 4) continue;
    known.add(form);
    core.setSecret(form);
  }
}

/** Replace every known secret form in `text` with `***`. */
export function redact(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const form of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(form)) out = out.split(form).join('***');
  }
  return out;
}
