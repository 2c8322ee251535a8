/**
 * `npm run sim`: starts every simulator with a 25-endpoint fleet, prints where they listen,
 * the (fake) credentials and ids, and an intent that points at them; runs until Ctrl-C.
 * Flags: --mdm=jamf|intune  --os=macos|windows|mixed  --size=N  --seed=N
 */
import { startSimulators, type Simulators } from './index.js';
import { simAllowedHosts } from './runner.js';

function flag(name: string): string | undefined {
  const hit = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

function intentYaml(s: Simulators): string {
  const start = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const end = new Date(Date.now() + 4 * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const mdm =
    s.fleet.mdm === 'jamf'
      ? [
          '  provider: jamf',
          '  jamf:',
          `    url: ${s.urls.jamf}`,
          `    profileId: ${s.ids.jamfProfileId}`,
          `    groupId: ${s.ids.jamfGroupId}`,
          '    healthAttribute: Thoth Health',
        ]
      : [
          '  provider: intune',
          '  intune:',
          `    graphUrl: ${s.urls.graph}`,
          `    loginUrl: ${s.urls.login}`,
          `    groupId: ${s.ids.graphGroupId}`,
          `    macos: { configurationId: ${s.ids.macosConfigurationId} }`,
          `    windows: { remediationId: ${s.ids.remediationId}, template: .thoth/templates/thoth-key.ps1 }`,
        ];
  return [
    'version: 1',
    'name: corpsec-demo-rotation',
    'ticket: SEC-1234',
    `tenant: ${s.creds.tenant}`,
    'controlPlane:',
    `  url: ${s.urls.thoth}`,
    'fleet:',
    `  id: ${s.ids.fleetId}`,
    `  region: ${s.ids.region}`,
    'key:',
    '  scope: fleet',
    '  permissions: [read, execute]',
    '  ttl: 90d',
    'window:',
    `  start: ${start}`,
    `  end: ${end}`,
    'validation:',
    '  window: 1m',
    '  minHealthy: 80%',
    '  activeWithin: 7d',
    '  timeout: 2m',
    '  pollInterval: 2s',
    'mdm:',
    ...mdm,
    'rollback:',
    '  onValidationFailure: restore',
    'evidence:',
    '  path: .thoth/evidence',
  ].join('\n');
}

const mdm = flag('mdm') === 'intune' ? 'intune' : 'jamf';
const os = flag('os');
const sims = await startSimulators({
  seed: Number(flag('seed') ?? '1'),
  fleet: {
    size: Number(flag('size') ?? '25'),
    mdm,
    offline: 2,
    stuck: 2,
    inactive: 1,
    checkInDelayMs: [200, 1500],
    os: os === 'windows' || os === 'mixed' ? os : mdm === 'intune' ? 'mixed' : 'macos',
  },
});

const c = sims.creds;
const out = [
  'thoth-rotate simulators (loopback only; every credential below is fake)',
  '',
  'URLs',
  ...Object.entries(sims.urls).map(([k, v]) => `  ${k.padEnd(7)} ${v}`),
  '',
  'Credentials',
  `  thoth-api-key        ${c.orgApiKey}`,
  `  thoth-bearer-token   ${c.adminBearer}`,
  `  jamf-client-id       ${c.jamfClientId}`,
  `  jamf-client-secret   ${c.jamfClientSecret}`,
  `  azure-tenant-id      ${c.azureTenantId}`,
  `  azure-client-id      ${c.azureClientId}`,
  `  azure-client-secret  ${c.azureClientSecret}`,
  `  github-token         ${c.githubToken}   (repo ${c.owner}/${c.repo})`,
  '',
  'Input allowed-hosts (loopback is allowed only when listed)',
  `  allowed-hosts        ${simAllowedHosts(sims)}`,
  '',
  'Ids',
  ...Object.entries(sims.ids).map(([k, v]) => `  ${k.padEnd(21)} ${String(v)}`),
  '',
  `Fleet: ${sims.fleet.size} endpoints managed by ${mdm} (2 offline, 2 stuck, 1 inactive)`,
  '',
  'Environment for the action',
  `  GITHUB_API_URL=${sims.urls.github}`,
  `  GITHUB_REPOSITORY=${c.owner}/${c.repo}`,
  '',
  'Example intent (.thoth/rotations/demo.yaml)',
  '---',
  intentYaml(sims),
  '---',
  'Ctrl-C to stop.',
];
console.log(out.join('\n'));

const stop = (): void => {
  void sims.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
