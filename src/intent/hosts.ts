import { hostEntryFor, type AllowedHosts } from '../http/allowed-hosts.js';
import { DEFAULTS, isHostname, isPlainMap, parseUrl, type Located, type PathSeg } from './schema.js';

/**
 * Every host an intent file names, each checked against `allowed-hosts` (spec §9), read from
 * the raw document so a host problem is reported together with the file's other problems.
 * A URL the schema rejects is left to the schema's own finding.
 */
export function hostFindings(raw: Record<string, unknown>, allowed: AllowedHosts): Located[] {
  const out: Located[] = [];
  const check = (path: PathSeg[], url: string | undefined, what: string, field = path.join('.')): void => {
    if (url === undefined || allowed.allows(url)) return;
    const entry = hostEntryFor(url);
    const list = allowed.isDefault
      ? 'to the allowed-hosts input of the workflow (setting it replaces the default list: list every host your intents use)'
      : 'to the allowed-hosts input of the workflow';
    out.push({
      path,
      problem: `${entry} is not in allowed-hosts; ${what} is sent only to hosts listed there`,
      fix: `if ${entry} is yours, add ${entry} ${list}; otherwise correct ${field}`,
    });
  };
  const map = (v: unknown): Record<string, unknown> => (isPlainMap(v) ? v : {});
  const url = (v: unknown): string | undefined => {
    if (typeof v !== 'string') return undefined;
    const p = parseUrl(v);
    return 'value' in p ? p.value : undefined;
  };

  const cp = map(raw['controlPlane']);
  if (cp['url'] !== undefined) check(['controlPlane', 'url'], url(cp['url']), 'the Thoth credential');
  else if (typeof raw['tenant'] === 'string') {
    // The default control plane https://grid.<tenant>.<apexDomain>, blamed on what chose its host.
    const apex = cp['apexDomain'] ?? DEFAULTS.apexDomain;
    const host = typeof apex === 'string' ? `grid.${raw['tenant']}.${apex}`.toLowerCase() : '';
    const path = cp['apexDomain'] !== undefined ? ['controlPlane', 'apexDomain'] : ['tenant'];
    if (isHostname(host))
      check(
        path,
        `https://${host}`,
        `the Thoth credential (for the default control plane https://${host})`,
        `${path.join('.')}, or set controlPlane.url`,
      );
  }

  const mdm = map(raw['mdm']);
  const jamf = mdm['jamf'];
  if (isPlainMap(jamf)) check(['mdm', 'jamf', 'url'], url(jamf['url']), 'the Jamf client secret');
  const intune = mdm['intune'];
  if (isPlainMap(intune)) {
    check(
      ['mdm', 'intune', 'graphUrl'],
      intune['graphUrl'] === undefined ? DEFAULTS.graphUrl : url(intune['graphUrl']),
      'the Graph access token',
    );
    check(
      ['mdm', 'intune', 'loginUrl'],
      intune['loginUrl'] === undefined ? DEFAULTS.loginUrl : url(intune['loginUrl']),
      'the Entra client secret',
    );
  }
  return out;
}
