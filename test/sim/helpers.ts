/** Small fetch helpers for the simulator tests. */
import { build, parse, type PlistValue } from 'plist';
import type { Simulators } from '../../sim/index.js';

export async function jamfToken(s: Simulators): Promise<{ token: string; cookie: string }> {
  const r = await fetch(`${s.urls.jamf}/api/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: s.creds.jamfClientId,
      client_secret: s.creds.jamfClientSecret,
    }),
  });
  if (r.status !== 200) throw new Error(`jamf token ${r.status}`);
  const body = (await r.json()) as { access_token: string };
  return { token: body.access_token, cookie: cookieOf(r) };
}

/** The `name=value` part of the jpro-ingress Set-Cookie. */
export function cookieOf(r: Response): string {
  return (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

export async function graphToken(s: Simulators): Promise<string> {
  const r = await fetch(`${s.urls.login}/${s.creds.azureTenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: s.creds.azureClientId,
      client_secret: s.creds.azureClientSecret,
      scope: `${s.urls.graph}/.default`,
    }),
  });
  if (r.status !== 200) throw new Error(`graph token ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

export async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function thothHeaders(s: Simulators, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-api-key': s.creds.orgApiKey, accept: 'application/json', ...extra };
}

/** Rewrites the three Thoth settings inside a mobileconfig (what the action does, via plist). */
export function withSettings(mobileconfig: string, v: { apiKey: string; keyId: string; revoked?: string[] }): string {
  const root = parse(mobileconfig) as Record<string, PlistValue>;
  for (const p of root['PayloadContent'] as Record<string, PlistValue>[]) {
    const dom = (p['PayloadContent'] as Record<string, PlistValue>)['com.atensecurity.thoth'] as
      | Record<string, PlistValue>
      | undefined;
    if (p['PayloadType'] !== 'com.apple.ManagedClient.preferences' || !dom) continue;
    const s = ((dom['Forced'] as Record<string, PlistValue>[])[0] as Record<string, PlistValue>)[
      'mcx_preference_settings'
    ] as Record<string, PlistValue>;
    s['THOTH_API_KEY'] = v.apiKey;
    s['THOTH_API_KEY_ID'] = v.keyId;
    s['THOTH_REVOKED_API_KEY_IDS'] = v.revoked ?? [];
  }
  return build(root);
}

export function xmlEscape(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
