import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, formatProblem } from '../../src/errors.js';
import { AllowedHosts } from '../../src/http/allowed-hosts.js';
import { loadIntents } from '../../src/intent/load.js';

/** Spec §9 in the loader: hosts an intent names must be allowed; intents are read only from the workspace. */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const folder = (files: Record<string, string> = {}): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'thoth-trust-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
};
const jamf = (extra = '', url = 'https://acme.jamfcloud.com'): string =>
  `version: 1\nname: a\ntenant: acme\n${extra}fleet: { id: flt-a, region: us-east-1 }\nkey: { scope: fleet, permissions: [read] }\n` +
  `mdm:\n  provider: jamf\n  jamf: { url: "${url}", profileId: 1, groupId: 2 }\n`;
const intune = (intuneExtra: string): string =>
  'version: 1\nname: a\ntenant: acme\nfleet: { id: flt-a, region: us-east-1 }\nkey: { scope: fleet, permissions: [read] }\n' +
  `mdm:\n  provider: intune\n  intune:\n    groupId: g\n    macos: { configurationId: c }\n${intuneExtra}`;
const hosts = (text = ''): AllowedHosts => AllowedHosts.parse(text).hosts;
const problems = async (p: string, workspace: string, allowedHosts?: AllowedHosts): Promise<string[]> => {
  const e = await loadIntents(p, { workspace, ...(allowedHosts && { allowedHosts }) }).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return (e as ConfigError).problems.map(formatProblem);
};

describe('allowed-hosts in the loader', () => {
  it('an intent whose hosts are all allowed loads (the default list covers Thoth, Jamf Cloud and Graph)', async () => {
    const w = folder({ 'j.yaml': jamf(), 'i.yaml': intune('').replace('name: a', 'name: b') });
    expect((await loadIntents('.', { workspace: w, allowedHosts: hosts() })).map((i) => i.name)).toEqual(['b', 'a']);
  });

  it('mdm.jamf.url on another host: named at its line and column, with the input to change', async () => {
    const w = folder({ 'a.yaml': jamf('', 'https://jamf.evil.example:8443/x') });
    expect(await problems('a.yaml', w, hosts())).toEqual([
      'a.yaml:8:16 mdm.jamf.url: jamf.evil.example:8443 is not in allowed-hosts; the Jamf client secret is sent only to hosts listed there ' +
        '(if jamf.evil.example:8443 is yours, add jamf.evil.example:8443 to the allowed-hosts input of the workflow ' +
        '(setting it replaces the default list: list every host your intents use); otherwise correct mdm.jamf.url)',
    ]);
  });

  it('controlPlane.url and controlPlane.apexDomain are checked, loopback included', async () => {
    const w = folder({
      'url.yaml': jamf('controlPlane: { url: "http://127.0.0.1:4000" }\n'),
      'apex.yaml': jamf('controlPlane: { apexDomain: evil.example }\n').replace('name: a', 'name: b'),
    });
    expect(await problems('.', w, hosts())).toEqual([
      expect.stringMatching(
        /^apex\.yaml:4:29 controlPlane\.apexDomain: grid\.acme\.evil\.example is not in allowed-hosts; the Thoth credential \(for the default control plane https:\/\/grid\.acme\.evil\.example\) .*otherwise correct controlPlane\.apexDomain, or set controlPlane\.url\)$/,
      ),
      expect.stringMatching(
        /^url\.yaml:4:22 controlPlane\.url: 127\.0\.0\.1:4000 is not in allowed-hosts; the Thoth credential /,
      ),
    ]);
    expect(
      await loadIntents('url.yaml', { workspace: w, allowedHosts: hosts('127.0.0.1:4000,*.jamfcloud.com') }),
    ).toHaveLength(1);
  });

  it('defaults count too: with a list that replaces the default, the default control plane, Graph and login hosts are named', async () => {
    const w = folder({ 'i.yaml': intune('    loginUrl: https://login.evil.example\n') });
    const got = await problems('i.yaml', w, hosts('jamf.corp.example'));
    expect(got.map((p) => p.split(': ')[0])).toEqual([
      'i.yaml:3:9 tenant',
      'i.yaml:9:5 mdm.intune.graphUrl',
      'i.yaml:11:15 mdm.intune.loginUrl',
    ]);
    expect(got[1]).toContain(
      'graph.microsoft.com is not in allowed-hosts; the Graph access token is sent only to hosts listed there',
    );
    expect(got[2]).toContain('login.evil.example is not in allowed-hosts; the Entra client secret');
    expect(got[2]).not.toContain('replaces the default list');
  });

  it('host problems come with every other problem of every file, in one error', async () => {
    const w = folder({
      'a.yaml': jamf('', 'https://jamf.evil.example').replace('permissions: [read]', 'permissions: [admin]'),
      'b.yaml': jamf('controlPlane: { url: "https://cp.evil.example" }\n').replace('name: a', 'name: b'),
    });
    expect((await problems('.', w, hosts())).map((p) => p.split(': ')[0])).toEqual([
      'a.yaml:5:36 key.permissions[0]',
      'a.yaml:8:16 mdm.jamf.url',
      'b.yaml:4:22 controlPlane.url',
    ]);
  });

  it('without allowedHosts (unit callers) no host is checked', async () => {
    const w = folder({ 'a.yaml': jamf('', 'https://jamf.evil.example') });
    expect(await loadIntents('a.yaml', { workspace: w })).toHaveLength(1);
  });
});

describe('intents are read only from inside the workspace', () => {
  const SECRET_LINE = 'root-secret-marker: do-not-print-me';

  it('an intent that is a link out of the workspace is an error that quotes nothing of the target', async () => {
    const outside = folder({ 'secret.yaml': `${SECRET_LINE}\n[unclosed` });
    const w = folder({ 'r/ok.yaml': jamf() });
    symlinkSync(path.join(outside, 'secret.yaml'), path.join(w, 'r/z-link.yaml'));
    const got = await problems('r', w);
    expect(got).toEqual([
      'r/z-link.yaml (file): is a symbolic link that leads outside the workspace (commit the intent itself in the repository; intents are read only from the checkout)',
    ]);
    expect(got.join('\n')).not.toContain('do-not-print-me');
    expect(got.join('\n')).not.toContain(outside);
    expect(await problems('r/z-link.yaml', w)).toEqual([
      expect.stringContaining('r/z-link.yaml intents: is outside the workspace'),
    ]);
  });

  it('a link that stays inside the workspace is fine', async () => {
    const w = folder({ 'shared/a.yaml': jamf() });
    mkdirSync(path.join(w, 'r'));
    symlinkSync(path.join(w, 'shared/a.yaml'), path.join(w, 'r/a.yaml'));
    symlinkSync('../shared/a.yaml', path.join(w, 'r/b.yml'));
    await expect(loadIntents('r/a.yaml', { workspace: w })).resolves.toHaveLength(1);
  });

  it('an intents folder that is a link out of the workspace, or a path that leaves it, names the intents input', async () => {
    const outside = folder({ 'a.yaml': `${SECRET_LINE}\n` });
    const w = folder({});
    symlinkSync(outside, path.join(w, 'rotations'));
    expect(await problems('rotations', w)).toEqual([
      'rotations intents: is outside the workspace (set the intents input to a path inside the repository, relative to its root, with no link that leaves it)',
    ]);
    const rel = path.relative(w, path.join(outside, 'a.yaml'));
    expect(await problems(rel, w)).toEqual([expect.stringContaining('intents: is outside the workspace')]);
    expect(await problems(path.join(outside, 'a.yaml'), w)).toEqual([
      expect.stringContaining('intents: is outside the workspace'),
    ]);
  });

  it('a workspace reached through a link still works (real paths are compared)', async () => {
    const real = folder({ 'r/a.yaml': jamf() });
    const parent = folder({});
    symlinkSync(real, path.join(parent, 'ws'));
    await expect(loadIntents('r', { workspace: path.join(parent, 'ws') })).resolves.toHaveLength(1);
  });
});
