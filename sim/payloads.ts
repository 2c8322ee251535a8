/**
 * The runtime configuration the MDMs deliver, as the simulated endpoints read it:
 * a macOS mobileconfig (Jamf profile payloads, Intune macOSCustomConfiguration) or a Windows
 * remediation PowerShell script (Intune deviceHealthScripts). Builders make the realistic
 * initial documents; readers are what an endpoint does at check-in.
 */
import { XMLValidator } from 'fast-xml-parser';
import { build, parse, type PlistValue } from 'plist';
import { isRecord } from './util.js';

export const THOTH_DOMAIN = 'com.atensecurity.thoth';
export const PREFS_TYPE = 'com.apple.ManagedClient.preferences';
export const SETTING = {
  apiKey: 'THOTH_API_KEY',
  keyId: 'THOTH_API_KEY_ID',
  revoked: 'THOTH_REVOKED_API_KEY_IDS',
} as const;

export interface ThothSettings {
  apiKey: string;
  keyId: string;
  revoked: string[];
}

export interface ProfileIdentity {
  tenant: string;
  /** Top-level PayloadUUID (upper-case, as Jamf exports it). */
  uuid: string;
  thothPayloadUuid: string;
  otherPayloadUuid: string;
}

/**
 * A realistic profile: the Thoth preferences payload plus an unrelated payload that shares the
 * display name "Thoth" (matching by display name picks the wrong one), with dates, integers and
 * booleans the action must round-trip unchanged.
 */
export function buildMobileconfig(s: ThothSettings, id: ProfileIdentity): string {
  const thoth = {
    PayloadContent: {
      [THOTH_DOMAIN]: {
        Forced: [
          {
            mcx_preference_settings: {
              THOTH_TENANT_ID: id.tenant,
              THOTH_APEX_DOMAIN: 'atensecurity.com',
              [SETTING.apiKey]: s.apiKey,
              [SETTING.keyId]: s.keyId,
              [SETTING.revoked]: s.revoked,
              THOTH_REVOKED_API_KEY_IDS_FILE: '/Library/Application Support/Thoth/revoked-key-ids.json',
              THOTH_ENFORCEMENT_MODE: 'enforce',
            },
          },
        ],
      },
    },
    PayloadDisplayName: 'Thoth',
    PayloadEnabled: true,
    PayloadIdentifier: `${PREFS_TYPE}.${id.thothPayloadUuid}`,
    PayloadType: PREFS_TYPE,
    PayloadUUID: id.thothPayloadUuid,
    PayloadVersion: 1,
  };
  const updater = {
    PayloadContent: {
      [`${THOTH_DOMAIN}.updater`]: {
        Forced: [
          {
            mcx_preference_settings: {
              UpdateChannel: 'stable',
              AutoUpdate: true,
              CheckIntervalHours: 24,
              PinnedSince: new Date('2026-06-08T00:00:00Z'),
            },
          },
        ],
      },
    },
    PayloadDisplayName: 'Thoth',
    PayloadEnabled: true,
    PayloadIdentifier: `${PREFS_TYPE}.${id.otherPayloadUuid}`,
    PayloadType: PREFS_TYPE,
    PayloadUUID: id.otherPayloadUuid,
    PayloadVersion: 1,
  };
  return build({
    PayloadContent: [thoth, updater],
    PayloadDescription: 'Runtime configuration for the Thoth MCP governance proxy. Managed by CorpSec.',
    PayloadDisplayName: 'Thoth MCP Proxy Runtime',
    PayloadIdentifier: `com.acme.corpsec.thoth.runtime.${id.uuid}`,
    PayloadOrganization: 'Acme Corp Security',
    PayloadRemovalDisallowed: true,
    PayloadScope: 'System',
    PayloadType: 'Configuration',
    PayloadUUID: id.uuid,
    PayloadVersion: 1,
  });
}

/** Parses plist XML without letting xmldom print to the console on garbage. */
export function parsePlist(text: string): PlistValue | undefined {
  if (XMLValidator.validate(text) !== true) return undefined;
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

/** Top-level identity of a mobileconfig (for ghost-profile detection). */
export function topIdentity(text: string): { uuid: unknown; identifier: unknown } | undefined {
  const root = parsePlist(text);
  if (!isRecord(root)) return undefined;
  return { uuid: root['PayloadUUID'], identifier: root['PayloadIdentifier'] };
}

/** What an endpoint reads from a mobileconfig: found by PayloadType + domain, never display name. */
export function readMobileconfig(text: string, domain = THOTH_DOMAIN): ThothSettings | null {
  const root = parsePlist(text);
  if (!isRecord(root) || !Array.isArray(root['PayloadContent'])) return null;
  for (const p of root['PayloadContent']) {
    if (!isRecord(p) || p['PayloadType'] !== PREFS_TYPE || !isRecord(p['PayloadContent'])) continue;
    const dom = p['PayloadContent'][domain];
    if (!isRecord(dom) || !Array.isArray(dom['Forced'])) continue;
    const forced = dom['Forced'][0];
    if (!isRecord(forced) || !isRecord(forced['mcx_preference_settings'])) continue;
    const s = forced['mcx_preference_settings'];
    return settingsFrom(s[SETTING.apiKey], s[SETTING.keyId], s[SETTING.revoked]);
  }
  return null;
}

function settingsFrom(apiKey: unknown, keyId: unknown, revoked: unknown): ThothSettings | null {
  if (typeof apiKey !== 'string' || typeof keyId !== 'string' || apiKey === '' || keyId === '') return null;
  let list: unknown = revoked;
  if (typeof revoked === 'string') {
    try {
      list = JSON.parse(revoked === '' ? '[]' : revoked) as unknown;
    } catch {
      list = [];
    }
  }
  const ids = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  return { apiKey, keyId, revoked: ids };
}

// ---- Windows remediation script ---------------------------------------------------------

function psQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function buildRemediationScript(s: ThothSettings): string {
  return [
    '<#',
    '  Thoth MCP Proxy: runtime API key remediation (managed by CorpSec, do not edit in the portal)',
    '#>',
    "$ErrorActionPreference = 'Stop'",
    `$ThothApiKey = ${psQuote(s.apiKey)}`,
    `$ThothApiKeyId = ${psQuote(s.keyId)}`,
    `$ThothRevokedApiKeyIds = ${psQuote(JSON.stringify(s.revoked))}`,
    "$ConfigDir = Join-Path $env:ProgramData 'Thoth'",
    'New-Item -ItemType Directory -Force -Path $ConfigDir | Out-Null',
    "[Environment]::SetEnvironmentVariable('THOTH_API_KEY', $ThothApiKey, 'Machine')",
    "[Environment]::SetEnvironmentVariable('THOTH_API_KEY_ID', $ThothApiKeyId, 'Machine')",
    "$RevokedFile = Join-Path $ConfigDir 'revoked-key-ids.json'",
    "[Environment]::SetEnvironmentVariable('THOTH_REVOKED_API_KEY_IDS_FILE', $RevokedFile, 'Machine')",
    'Set-Content -Path $RevokedFile -Value $ThothRevokedApiKeyIds -Encoding UTF8',
    "Restart-Service -Name 'ThothProxy' -ErrorAction SilentlyContinue",
    'exit 0',
    '',
  ].join('\r\n');
}

/**
 * The remediation's detection script: the key id and revoked ids it expects (never the key),
 * exit 1 when the installation differs or the key is revoked/expired, compact health on stdout.
 * Intune runs the remediation script only after an `exit 1` (memdocs
 * intune/fundamentals/remediations.md, "Script requirements").
 */
export function buildDetectionScript(s: Pick<ThothSettings, 'keyId' | 'revoked'>): string {
  return [
    '<#',
    '  Thoth MCP Proxy: runtime API key detection (managed by CorpSec, do not edit in the portal)',
    '#>',
    `$ThothApiKeyId = ${psQuote(s.keyId)}`,
    `$ThothRevokedApiKeyIds = ${psQuote(JSON.stringify(s.revoked))}`,
    "$Installed = [Environment]::GetEnvironmentVariable('THOTH_API_KEY_ID', 'Machine')",
    "$RevokedFile = Join-Path (Join-Path $env:ProgramData 'Thoth') 'revoked-key-ids.json'",
    '$InstalledRevoked = if (Test-Path $RevokedFile) { (Get-Content -Raw -Path $RevokedFile).Trim() } else { $null }',
    '$Health = & "$env:ProgramFiles\\Thoth\\thoth.exe" health --json | Out-String | ConvertFrom-Json',
    '$Report = @{ registration_ok = $Health.registration_ok; api_key = $Health.api_key } | ConvertTo-Json -Compress -Depth 3',
    'Write-Output $Report',
    'if ($Installed -ne $ThothApiKeyId -or $InstalledRevoked -ne $ThothRevokedApiKeyIds -or $Health.api_key.revoked -or $Health.api_key.expired) { exit 1 }',
    'exit 0',
    '',
  ].join('\r\n');
}

function psAssignment(text: string, name: string): string | undefined {
  const m = new RegExp(`^[ \\t]*\\$${name}[ \\t]*=[ \\t]*'((?:[^']|'')*)'`, 'mi').exec(text);
  return m?.[1]?.replace(/''/g, "'");
}

/**
 * What the detection script compares the installation with, or null for a script that does not
 * assign `$ThothApiKeyId`: such a script cannot tell an old installation from a current one, and
 * the simulated endpoint runs it as one that always exits 0.
 */
export function readDetectionScript(text: string): Pick<ThothSettings, 'keyId' | 'revoked'> | null {
  const keyId = psAssignment(text, 'ThothApiKeyId');
  if (keyId === undefined || keyId === '') return null;
  return {
    keyId,
    revoked: settingsFrom('x', keyId, psAssignment(text, 'ThothRevokedApiKeyIds') ?? '[]')?.revoked ?? [],
  };
}

/** What a Windows endpoint reads from the remediation script it runs. */
export function readRemediationScript(text: string): ThothSettings | null {
  return settingsFrom(
    psAssignment(text, 'ThothApiKey'),
    psAssignment(text, 'ThothApiKeyId'),
    psAssignment(text, 'ThothRevokedApiKeyIds') ?? '[]',
  );
}
