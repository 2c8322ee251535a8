import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../sim/index.js';
import {
  intuneIntent,
  jamfIntent,
  makeWorkspace,
  runAction,
  simAllowedHosts,
  simEnv,
  simInputs,
  type ActionRun,
  type Workspace,
} from './harness.js';

/**
 * Spec §9 "Where credentials go", through the bundle: a pull request that points an intent's
 * URLs at a host of its choosing gets no credential sent there, in plan on the pull request
 * and in apply once merged. The "attacker" is a loopback listener that records every request:
 * loopback is allowed only when listed, and it is not listed.
 */

interface Seen {
  method: string;
  url: string;
  headers: Record<string, unknown>;
  body: string;
}

let sims: Simulators;
let attacker: Server;
let attackerHost = '';
const seen: Seen[] = [];

beforeAll(async () => {
  sims = await startSimulators({ fleet: { size: 3 } });
  attacker = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  const addr = attacker.address();
  if (!addr || typeof addr === 'string') throw new Error('attacker did not listen');
  attackerHost = `127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => attacker.close(() => r()));
  await sims.close();
});
beforeEach(() => {
  seen.length = 0;
  sims.log.clear();
});

const evil = (): string => `http://${attackerHost}`;
const withAzure = (extra: Record<string, string>): Record<string, string> =>
  simInputs(sims, {
    'azure-tenant-id': sims.creds.azureTenantId,
    'azure-client-id': sims.creds.azureClientId,
    'azure-client-secret': sims.creds.azureClientSecret,
    ...extra,
  });

/** Four intents, each steering one credential to a host of the pull request's choosing. */
function hostileWorkspace(): Workspace {
  const ws = makeWorkspace();
  ws.write(
    '.thoth/rotations/a-jamf.yaml',
    jamfIntent(sims, { name: 'a-jamf' }).replace(`url: ${sims.urls.jamf}`, `url: ${evil()}/JSSResource`),
  );
  ws.write(
    '.thoth/rotations/b-control-plane.yaml',
    jamfIntent(sims, { name: 'b-control-plane' }).replace(`url: ${sims.urls.thoth}`, `url: ${evil()}`),
  );
  // No URL here: the default https://grid.<tenant>.<apexDomain> on a domain that resolves nowhere.
  ws.write(
    '.thoth/rotations/c-apex.yaml',
    jamfIntent(sims, { name: 'c-apex' }).replace(`  url: ${sims.urls.thoth}`, '  apexDomain: attacker.invalid'),
  );
  ws.write(
    '.thoth/rotations/d-login.yaml',
    intuneIntent(sims, { macos: true }, { name: 'd-login' }).replace(
      `loginUrl: ${sims.urls.login}`,
      `loginUrl: ${evil()}`,
    ),
  );
  return ws;
}

/** `::error title=T,file=F,line=L,col=C::message` lines of a run, as [file, message]. */
function fileAnnotations(run: ActionRun): [string, string][] {
  return run.stdout.split('\n').flatMap((l) => {
    const m = /^::error (?:title=[^,:]*,)?file=([^,:]+)(?:,[^:]*)?::(.*)$/.exec(l);
    return m ? [[m[1]!, m[2]!] as [string, string]] : [];
  });
}

function expectRefusedBeforeAnyRequest(run: ActionRun): void {
  expect(run.code, run.stdout + run.stderr).not.toBe(0);
  expect(run.outputs['status']).toBe('failed');
  expect(seen, 'requests the attacker received').toEqual([]);
  expect(sims.log.entries(), 'requests the simulators received').toEqual([]);
}

describe('allowed-hosts through dist/index.js', () => {
  for (const c of [
    { name: 'plan on a pull_request', mode: 'plan', event: 'pull_request' },
    { name: 'apply requested on a pull_request (runs as plan)', mode: 'apply', event: 'pull_request' },
    { name: 'apply after the merge (push)', mode: 'apply', event: 'push' },
  ]) {
    it(`${c.name}: intents naming other hosts send nothing anywhere; one annotation per field, naming allowed-hosts`, async () => {
      const ws = hostileWorkspace();
      const run = await runAction({
        workspace: ws,
        inputs: withAzure({ mode: c.mode }),
        env: simEnv(sims, { GITHUB_EVENT_NAME: c.event }),
      });
      expectRefusedBeforeAnyRequest(run);
      const notes = fileAnnotations(run);
      const expected: [string, RegExp][] = [
        [
          '.thoth/rotations/a-jamf.yaml',
          /^mdm\.jamf\.url: .*127\.0\.0\.1:\d+ is not in allowed-hosts.*Jamf client secret.*add 127\.0\.0\.1:\d+ to the allowed-hosts input/,
        ],
        [
          '.thoth/rotations/b-control-plane.yaml',
          /^controlPlane\.url: .*127\.0\.0\.1:\d+ is not in allowed-hosts.*Thoth credential.*allowed-hosts input/,
        ],
        [
          '.thoth/rotations/c-apex.yaml',
          /^controlPlane\.apexDomain: .*grid\.acme\.attacker\.invalid is not in allowed-hosts.*allowed-hosts input/,
        ],
        [
          '.thoth/rotations/d-login.yaml',
          /^mdm\.intune\.loginUrl: .*127\.0\.0\.1:\d+ is not in allowed-hosts.*Entra client secret.*allowed-hosts input/,
        ],
      ];
      expect(notes.map(([f]) => f)).toEqual(expected.map(([f]) => f));
      notes.forEach(([, message], i) => expect(message).toMatch(expected[i]![1]));
      // Each annotation carries the position of the field in its file.
      for (const l of run.stdout.split('\n').filter((x) => /^::error (title=[^,]*,)?file=/.test(x)))
        expect(l).toMatch(/^::error title=thoth-rotate intent [^,:]+,file=[^,]+,line=\d+,col=\d+::/);
    });
  }

  it('control: once the workflow lists the attacker host, it does receive the Jamf token request', async () => {
    // Shows that the listener above would have caught a leak: the zero is not an artefact.
    const ws = makeWorkspace();
    ws.write(
      '.thoth/rotations/a-jamf.yaml',
      jamfIntent(sims, { name: 'a-jamf' }).replace(`url: ${sims.urls.jamf}`, `url: ${evil()}`),
    );
    const run = await runAction({
      workspace: ws,
      inputs: simInputs(sims, { 'allowed-hosts': `${simAllowedHosts(sims)}\n${attackerHost}` }),
      env: simEnv(sims),
    });
    expect(run.code).not.toBe(0);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toContain('POST /api/v1/oauth/token');
    expect(
      seen.some((s) => s.body.includes(sims.creds.jamfClientSecret)),
      'the Jamf client secret reached the listed host',
    ).toBe(true);
  });

  it('a bad allowed-hosts entry is an input error with a fix, before any request', async () => {
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/ok.yaml', jamfIntent(sims));
    const run = await runAction({
      workspace: ws,
      inputs: simInputs(sims, { 'allowed-hosts': `${simAllowedHosts(sims)},https://${attackerHost}/` }),
      env: simEnv(sims),
    });
    expectRefusedBeforeAnyRequest(run);
    expect(run.stdout).toMatch(
      /::error title=thoth-rotate input allowed-hosts::allowed-hosts: .* is a URL, not a host \(write only the host \(and port\)/,
    );
  });
});

describe('intent files outside the workspace through dist/index.js', () => {
  let outside = '';
  beforeAll(() => {
    outside = mkdtempSync(path.join(tmpdir(), 'thoth-outside-'));
  });
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  it('an intent that is a symbolic link out of the workspace: an error that quotes nothing of the target, zero requests', async () => {
    const marker = 'private-runner-file-marker';
    // What the link points at: something of the runner's that must never reach the log.
    writeFileSync(path.join(outside, 'target.yaml'), `${marker}: 1\nnot: [valid yaml\n${sims.creds.orgApiKey}\n`);
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/ok.yaml', jamfIntent(sims));
    symlinkSync(path.join(outside, 'target.yaml'), path.join(ws.dir, '.thoth/rotations/z-link.yaml'));
    const run = await runAction({
      workspace: ws,
      inputs: simInputs(sims),
      env: simEnv(sims, { GITHUB_EVENT_NAME: 'pull_request' }),
    });
    expectRefusedBeforeAnyRequest(run);
    expect(fileAnnotations(run)).toEqual([
      ['.thoth/rotations/z-link.yaml', expect.stringContaining('is a symbolic link that leads outside the workspace')],
    ]);
    for (const text of [run.stdout, run.stderr, run.summary]) {
      expect(text).not.toContain(marker);
      expect(text).not.toContain(outside);
    }
  });

  it('an intents input that is absolute or leaves the repository names the input', async () => {
    const ws = makeWorkspace();
    ws.write('.thoth/rotations/ok.yaml', jamfIntent(sims));
    for (const intents of [path.join(outside, 'target.yaml'), '../elsewhere']) {
      const run = await runAction({ workspace: ws, inputs: simInputs(sims, { intents }), env: simEnv(sims) });
      expectRefusedBeforeAnyRequest(run);
      expect(run.stdout).toMatch(
        /::error title=thoth-rotate input intents::intents: .*(not repository-relative|leaves the repository)/,
      );
      expect(run.stdout).not.toContain('private-runner-file-marker');
    }
  });
});
