import { ConfigError, type SystemName } from '../errors.js';

/**
 * `allowed-hosts` (spec §9): the hosts credentials may be sent to. An intent is written by
 * whoever opens a pull request, so the URLs in it must not choose where the Thoth key, the
 * Jamf client secret or the Entra client secret go; the workflow author lists the hosts.
 *
 * Entries: `host`, `host:port`, `*.domain` or `*.domain:port`, comma or newline separated.
 * - Host names are compared as the WHATWG URL parser normalises them (lower case, IDNA to
 *   punycode, `127.1` → `127.0.0.1`) with one trailing dot removed, on both sides.
 * - An entry without a port matches only https on port 443; an entry with a port matches only
 *   that port. A self-hosted Jamf Pro on :8443 needs `jamf.example.com:8443`, a simulator on
 *   loopback http `127.0.0.1:4000`: a port-less entry never opens every port of a host.
 * - `*.example.com` matches any name below example.com (`a.example.com`, `a.b.example.com`),
 *   not `example.com` itself: list both when both are used.
 * - Loopback is not special: it is allowed only when listed (the simulators are).
 */

/**
 * The default when the input is empty: Thoth's and Jamf Cloud's domains, and Microsoft Graph and
 * Entra sign-in in the global service and the national clouds (US Government L4 and L5/DoD,
 * China operated by 21Vianet), as listed in "Microsoft Graph national cloud deployments",
 * https://learn.microsoft.com/graph/deployments (microsoftgraph/microsoft-graph-docs-contrib,
 * concepts/deployments.md). Microsoft Cloud Germany (graph.microsoft.de) closed in 2021.
 */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = Object.freeze([
  '*.atensecurity.com',
  '*.jamfcloud.com',
  'graph.microsoft.com',
  'login.microsoftonline.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'login.microsoftonline.us',
  'microsoftgraph.chinacloudapi.cn',
  'login.chinacloudapi.cn',
]);

interface HostEntry {
  /** Normalised host name, IPv4 address or bracketed IPv6 address; for a wildcard the domain after `*.`. */
  readonly host: string;
  readonly wildcard: boolean;
  readonly port?: number;
}

/** A problem with one entry, worded for a ConfigProblem of the input `allowed-hosts`. */
export interface HostEntryProblem {
  readonly problem: string;
  readonly fix: string;
}

const ENTRY_FIX =
  'write host, host:port or *.domain, without scheme, path or user, comma or newline separated, e.g. jamf.example.com:8443';

export class AllowedHosts {
  readonly #entries: readonly HostEntry[];
  /** The entries as written (or the default list), for messages. */
  readonly entries: readonly string[];
  /** True when the input was empty and the default list applies. */
  readonly isDefault: boolean;

  private constructor(entries: readonly HostEntry[], texts: readonly string[], isDefault: boolean) {
    this.#entries = Object.freeze(entries);
    this.entries = Object.freeze([...texts]);
    this.isDefault = isDefault;
    Object.freeze(this);
  }

  /** Parses the input's text; empty text means the default list. Each bad entry is one problem. */
  static parse(text: string): { hosts: AllowedHosts; problems: readonly HostEntryProblem[] } {
    const texts = text
      .split(/[,\r\n]/)
      .map((s) => s.trim())
      .filter(Boolean);
    const isDefault = texts.length === 0;
    const problems: HostEntryProblem[] = [];
    const entries: HostEntry[] = [];
    for (const t of isDefault ? DEFAULT_ALLOWED_HOSTS : texts) {
      const e = parseEntry(t);
      if ('problem' in e) problems.push(e);
      else entries.push(e);
    }
    return { hosts: new AllowedHosts(entries, isDefault ? DEFAULT_ALLOWED_HOSTS : texts, isDefault), problems };
  }

  /** Whether credentials may be sent to `url` (http or https, no user:password part). */
  allows(url: string | URL): boolean {
    const t = target(url);
    if (!t) return false;
    return this.#entries.some(
      (e) =>
        (e.port === undefined ? t.https && t.port === 443 : e.port === t.port) &&
        (e.wildcard ? t.host.endsWith(`.${e.host}`) : t.host === e.host),
    );
  }
}

/** What to add to allowed-hosts for `url`: `host` for https on 443, else `host:port`. */
export function hostEntryFor(url: string | URL): string {
  const t = target(url);
  return t ? (t.https && t.port === 443 ? t.host : `${t.host}:${t.port}`) : String(url);
}

function target(url: string | URL): { host: string; port: number; https: boolean } | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  // A user:password part is never sent on by our client, but a URL carrying one is not what was reviewed.
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) return undefined;
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  return { host: withoutTrailingDot(u.hostname), port, https: u.protocol === 'https:' };
}

const withoutTrailingDot = (h: string): string => (h.endsWith('.') ? h.slice(0, -1) : h);
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

function parseEntry(text: string): HostEntry | HostEntryProblem {
  const bad = (why: string, fix = ENTRY_FIX): HostEntryProblem => ({ problem: `${JSON.stringify(text)} ${why}`, fix });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    return bad('is a URL, not a host', `write only the host (and port), e.g. ${hostEntryFor(text)}`);
  if (/[\s/\\@?#%]/.test(text)) return bad('is not a host: it contains a space, "/", "\\", "@", "?", "#" or "%"');
  const wildcard = text.startsWith('*.');
  const rest = wildcard ? text.slice(2) : text;
  if (rest.includes('*'))
    return bad(
      'has a "*" that is not the whole first label',
      'write a wildcard as *.example.com; it matches every name below example.com',
    );
  if (!rest.startsWith('[') && rest.split(':').length > 2)
    return bad('looks like an IPv6 address without brackets', 'write IPv6 addresses in brackets, e.g. [::1]:8443');
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(rest);
  if (!m || m[1] === '') return bad('is not host, host:port or *.domain');
  let port: number | undefined;
  if (m[2] !== undefined) {
    port = Number(m[2]);
    if (m[2] === '' || !Number.isInteger(port) || port < 1 || port > 65535)
      return bad('has a port that is not a number from 1 to 65535');
  }
  let host: string;
  try {
    host = withoutTrailingDot(new URL(`http://${m[1]}`).hostname);
  } catch {
    return bad('is not a valid host name or IP address');
  }
  const ip = host.startsWith('[') || IPV4.test(host);
  if (host === '' || (!ip && host.split('.').includes(''))) return bad('is not a valid host name (an empty label)');
  if (wildcard && (ip || !host.includes('.'))) {
    return bad(
      'is a wildcard over an IP address or a top-level domain',
      'put a wildcard only in front of a domain of two labels or more, e.g. *.example.com, or list the exact hosts',
    );
  }
  return { host, wildcard, ...(port === undefined ? {} : { port }) };
}

// ---- the client-side guard --------------------------------------------------

/**
 * The second line of defence: the intent loader already rejects intents naming other hosts,
 * and the HTTP client asks this guard before it is built for a credential-carrying system, so a
 * future code path that builds a client from some other URL cannot send a credential elsewhere.
 * `run()` installs the run's allowed-hosts before any client exists. Until then nothing is
 * checked, so unit tests may build clients against their own loopback servers.
 */
let installed: AllowedHosts | undefined;

export function restrictCredentialsTo(hosts: AllowedHosts): void {
  installed = hosts;
}

/** Throws a ConfigError naming `allowed-hosts` when `url` is not allowed by the installed list. */
export function assertCredentialHost(system: SystemName, url: string): void {
  if (!installed || installed.allows(url)) return;
  const entry = hostEntryFor(url);
  throw new ConfigError([
    {
      file: 'inputs',
      field: 'allowed-hosts',
      problem: `${system}: refusing to send credentials to ${entry}, which allowed-hosts does not list`,
      fix: `add ${entry} to the allowed-hosts input of the workflow if it is your ${system} server`,
    },
  ]);
}
