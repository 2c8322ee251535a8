# Intune remediation script rendered by thoth-rotate: the three placeholders are
# replaced with the fleet key, its id and the revoked ids (a JSON array); nothing
# else in this file changes. Intune runs it only when the detection script
# (thoth-detect.ps1) exits 1; that script reads back what this one writes.
$ThothApiKey = '{{THOTH_API_KEY}}'
$ThothApiKeyId = '{{THOTH_API_KEY_ID}}'
$ThothRevokedApiKeyIds = '{{THOTH_REVOKED_API_KEY_IDS}}'

$ErrorActionPreference = 'Stop'
$dir = Join-Path $env:ProgramData 'Thoth'
New-Item -ItemType Directory -Force -Path $dir | Out-Null
$keyFile = Join-Path $dir 'proxy_api_key.json'
$revokedFile = Join-Path $dir 'revoked-key-ids.json'
@{ api_key = $ThothApiKey; key_id = $ThothApiKeyId } | ConvertTo-Json | Set-Content -Path $keyFile -Encoding UTF8
Set-Content -Path $revokedFile -Value $ThothRevokedApiKeyIds -Encoding UTF8
# Only SYSTEM and Administrators may read the key file.
icacls $keyFile /inheritance:r /grant:r 'SYSTEM:R' 'Administrators:R' | Out-Null
[Environment]::SetEnvironmentVariable('THOTH_API_KEY_FILE', $keyFile, 'Machine')
[Environment]::SetEnvironmentVariable('THOTH_REVOKED_API_KEY_IDS_FILE', $revokedFile, 'Machine')
