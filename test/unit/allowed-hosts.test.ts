import { describe, expect, it } from 'vitest';
import { ConfigError, InvariantError, formatProblem } from '../../src/errors.js';
import {
  AllowedHosts,
  DEFAULT_ALLOWED_HOSTS,
  hostEntryFor,
  restrictCredentialsTo,
} from '../../src/http/allowed-hosts.js';
import { HttpClient } from '../../src/http/client.js';

const hosts = (text: string): AllowedHosts => {
  const { hosts: h, problems } = AllowedHosts.parse(text);
  expect(problems).toEqual([]);
  return h;
};
const problemsOf = (text: string): string[] => AllowedHosts.parse(text).problems.map((p) => `${p.problem} (${p.fix})`);

describe('allowed-hosts: the default list', () => {
  const d = hosts('');
  it('applies when the input is empty or only separators', () => {
    expect(d.isDefault).toBe(true);
    expect(d.entries).toEqual(DEFAULT_ALLOWED_HOSTS);
    expect(hosts(' , \n\r\n ').isDefault).toBe(true);
  });
  it.each([
    'https://grid.acme.atensecurity.com',
    'https://grid.acme.atensecurity.com/base',
    'https://acme.jamfcloud.com',
    'https://graph.microsoft.com',
    'https://login.microsoftonline.com',
    'https://graph.microsoft.us',
    'https://dod-graph.microsoft.us',
    'https://login.microsoftonline.us',
    'https://microsoftgraph.chinacloudapi.cn',
    'https://login.chinacloudapi.cn',
    // normalised by URL parsing: case, explicit default port, one trailing dot
    'https://GRID.Acme.AtenSecurity.COM',
    'https://graph.microsoft.com:443',
    'https://graph.microsoft.com.',
    'https://grid.acme.atensecurity.com./x',
  ])('allows %s', (url) => expect(d.allows(url)).toBe(true));
  it.each([
    ['the bare domain of a wildcard', 'https://atensecurity.com'],
    ['a look-alike suffix', 'https://evilatensecurity.com'],
    ['a vendor name as a subdomain of another host', 'https://acme.jamfcloud.com.evil.example'],
    ['another port', 'https://acme.jamfcloud.com:8443'],
    ['plain http to a listed host', 'http://graph.microsoft.com'],
    ['a listed host as userinfo', 'https://graph.microsoft.com@evil.example'],
    ['userinfo in front of a listed host', 'https://user:pw@graph.microsoft.com'],
    ['loopback, not listed', 'http://127.0.0.1:4000'],
    ['localhost, not listed', 'http://localhost'],
    ['IPv6 loopback, not listed', 'http://[::1]:4000'],
    ['two trailing dots', 'https://graph.microsoft.com..'],
    ['another scheme', 'ftp://graph.microsoft.com'],
    ['not a URL', 'graph.microsoft.com'],
  ])('refuses %s: %s', (_why, url) => expect(d.allows(url)).toBe(false));
});

describe('allowed-hosts: listed entries', () => {
  it('host:port matches only that port; a host without port only the default port', () => {
    const h = hosts('127.0.0.1:8080\njamf.corp.example, jamf8443.corp.example:8443');
    expect(h.allows('http://127.0.0.1:8080/api')).toBe(true);
    expect(h.allows('http://127.1:8080')).toBe(true);
    expect(h.allows('http://127.0.0.1:8081')).toBe(false);
    expect(h.allows('http://127.0.0.1')).toBe(false);
    expect(h.allows('http://localhost:8080')).toBe(false);
    expect(h.allows('https://jamf.corp.example')).toBe(true);
    expect(h.allows('https://jamf.corp.example:443')).toBe(true);
    expect(h.allows('https://jamf.corp.example:8443')).toBe(false);
    expect(h.allows('https://jamf8443.corp.example:8443')).toBe(true);
    expect(h.allows('https://jamf8443.corp.example')).toBe(false);
  });
  it('an explicit default port is the same as none', () => {
    const h = hosts('jamf.corp.example:443');
    expect(h.allows('https://jamf.corp.example')).toBe(true);
    expect(h.allows('https://jamf.corp.example:8443')).toBe(false);
  });
  it('a port-less entry is https on 443 only; http needs its port listed', () => {
    expect(hosts('127.0.0.1').allows('https://127.0.0.1')).toBe(true);
    expect(hosts('127.0.0.1').allows('http://127.0.0.1')).toBe(false);
    expect(hosts('127.0.0.1').allows('http://127.0.0.1:443')).toBe(false);
    expect(hosts('127.0.0.1:80').allows('http://127.0.0.1')).toBe(true);
    expect(hosts('127.0.0.1:443').allows('https://127.0.0.1')).toBe(true);
  });
  it('IPv6 entries in brackets, compared in canonical form', () => {
    const h = hosts('[0:0:0:0:0:0:0:1]:8443');
    expect(h.allows('http://[::1]:8443')).toBe(true);
    expect(h.allows('http://[::1]:8444')).toBe(false);
    expect(h.allows('http://127.0.0.1:8443')).toBe(false);
  });
  it('*.domain matches names below the domain at any depth, not the domain, and honours a port', () => {
    const h = hosts('*.corp.example:8443');
    expect(h.allows('https://a.corp.example:8443')).toBe(true);
    expect(h.allows('https://a.b.corp.example:8443')).toBe(true);
    expect(h.allows('https://corp.example:8443')).toBe(false);
    expect(h.allows('https://a.corp.example')).toBe(false);
    expect(h.allows('https://a.xcorp.example:8443')).toBe(false);
  });
  it('case, trailing dots and IDNA are normalised on both sides', () => {
    const h = hosts('JAMF.Corp.Example.,bücher.example');
    expect(h.allows('https://jamf.corp.example')).toBe(true);
    expect(h.allows('https://jamf.corp.example.')).toBe(true);
    expect(h.allows('https://xn--bcher-kva.example')).toBe(true);
    expect(h.allows('https://BÜCHER.example')).toBe(true);
    expect(h.entries).toEqual(['JAMF.Corp.Example.', 'bücher.example']);
  });
  it('setting the input replaces the default list', () => {
    const h = hosts('jamf.corp.example');
    expect(h.isDefault).toBe(false);
    expect(h.allows('https://graph.microsoft.com')).toBe(false);
  });
});

describe('allowed-hosts: bad entries are named, with a fix', () => {
  it.each([
    [
      'https://jamf.corp.example:8443/',
      'is a URL, not a host (write only the host (and port), e.g. jamf.corp.example:8443)',
    ],
    ['jamf.corp.example/JSSResource', 'is not a host: it contains'],
    ['admin@jamf.corp.example', 'is not a host: it contains'],
    ['*', 'has a "*" that is not the whole first label'],
    ['*.com', 'is a wildcard over an IP address or a top-level domain'],
    ['*.10.0.0.1', 'is a wildcard over an IP address or a top-level domain'],
    ['*.[::1]', 'is a wildcard over an IP address or a top-level domain'],
    ['a*.example.com', 'has a "*" that is not the whole first label'],
    ['*.*.example.com', 'has a "*" that is not the whole first label'],
    ['x.example:0', 'has a port that is not a number from 1 to 65535'],
    ['x.example:65536', 'has a port that is not a number from 1 to 65535'],
    ['x.example:', 'has a port that is not a number from 1 to 65535'],
    ['x.example:https', 'is not host, host:port or *.domain'],
    [':443', 'is not host, host:port or *.domain'],
    ['::1', 'looks like an IPv6 address without brackets (write IPv6 addresses in brackets, e.g. [::1]:8443)'],
    ['a..example', 'is not a valid host name (an empty label)'],
    ['exa mple.com', 'is not a host: it contains a space'],
    ['[::1', 'is not'],
  ])('%s', (entry, expected) => {
    const got = problemsOf(entry);
    expect(got).toHaveLength(1);
    expect(got[0]).toContain(JSON.stringify(entry));
    expect(got[0]).toContain(expected);
  });
  it('one problem per bad entry; the good ones are kept', () => {
    const r = AllowedHosts.parse('good.example, https://bad.example\n*.com,127.0.0.1:1');
    expect(r.problems).toHaveLength(2);
    expect(r.hosts.allows('https://good.example')).toBe(true);
    expect(r.hosts.allows('http://127.0.0.1:1')).toBe(true);
  });
});

describe('hostEntryFor: what the fix tells the author to add', () => {
  it.each([
    ['https://Jamf.Corp.Example:8443/JSSResource', 'jamf.corp.example:8443'],
    ['https://graph.microsoft.com/', 'graph.microsoft.com'],
    ['https://graph.microsoft.com:443', 'graph.microsoft.com'],
    ['http://[::1]:9/x', '[::1]:9'],
    ['http://127.0.0.1', '127.0.0.1:80'],
    ['https://evil.example./', 'evil.example'],
  ])('%s → %s', (url, entry) => expect(hostEntryFor(url)).toBe(entry));
});

describe('the HTTP client refuses a credential-carrying client for a host not allowed', () => {
  it("names allowed-hosts and the host; GitHub (the runner's own API URL) is exempt", () => {
    restrictCredentialsTo(hosts('127.0.0.1:9'));
    for (const system of ['thoth', 'jamf', 'graph'] as const) {
      let err: unknown;
      try {
        new HttpClient({ system, baseUrl: 'https://evil.example:8443/api', userAgent: 't' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect(formatProblem((err as ConfigError).problems[0]!)).toBe(
        `inputs allowed-hosts: ${system}: refusing to send credentials to evil.example:8443, which allowed-hosts does not list (add evil.example:8443 to the allowed-hosts input of the workflow if it is your ${system} server)`,
      );
    }
    expect(() => new HttpClient({ system: 'thoth', baseUrl: 'http://127.0.0.1:9', userAgent: 't' })).not.toThrow();
    expect(() => new HttpClient({ system: 'github', baseUrl: 'https://api.github.com', userAgent: 't' })).not.toThrow();
  });

  it('refuses a request path that would change the origin, before sending anything', async () => {
    restrictCredentialsTo(hosts('127.0.0.1:9'));
    const c = new HttpClient({
      system: 'thoth',
      baseUrl: 'http://127.0.0.1:9',
      userAgent: 't',
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
    });
    for (const p of ['@evil.example/x', '.evil.example/x', ':8080/x']) {
      await expect(c.send({ method: 'GET', path: p })).rejects.toBeInstanceOf(InvariantError);
    }
    expect(c.requestCount).toBe(0);
    await c.close();
  });
});
