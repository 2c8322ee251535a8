# Intune detection script rendered by thoth-rotate (mdm.intune.windows.detectionTemplate):
# the two placeholders are replaced with the expected key id and the revoked ids (a JSON
# array); the key itself never appears in this script. Intune runs the remediation script
# (thoth-key.ps1) only when this script exits 1, and keeps only the first 2,048 characters
# of what it prints: it prints one compact line of health JSON and nothing else.
$ThothApiKeyId = '{{THOTH_API_KEY_ID}}'
$ThothRevokedApiKeyIds = '{{THOTH_REVOKED_API_KEY_IDS}}'

$dir = Join-Path $env:ProgramData 'Thoth'
$keyFile = Join-Path $dir 'proxy_api_key.json'
$revokedFile = Join-Path $dir 'revoked-key-ids.json'

# What the remediation script installed: the key id next to the key, and the revoked ids.
$installedKeyId = $null
$installedRevoked = $null
try { $installedKeyId = (Get-Content -Raw -Path $keyFile -ErrorAction Stop | ConvertFrom-Json).key_id } catch { }
try { $installedRevoked = (Get-Content -Raw -Path $revokedFile -ErrorAction Stop).Trim() } catch { }

# What the proxy reports, reduced to the posture fields so the line stays far below 2,048 characters.
$apiKey = $null
$registrationOk = $null
try {
  $thoth = Join-Path $env:ProgramFiles 'Thoth\thoth.exe'
  $health = (& $thoth health --json 2>$null | Out-String) | ConvertFrom-Json
  $apiKey = $health.api_key
  $registrationOk = $health.registration_ok
} catch { }

$report = [ordered]@{
  registration_ok  = $registrationOk
  api_key          = [ordered]@{
    key_id            = $apiKey.key_id
    expired           = $apiKey.expired
    rotation_required = $apiKey.rotation_required
    revoked           = $apiKey.revoked
  }
  installed_key_id = $installedKeyId
}
Write-Output ($report | ConvertTo-Json -Compress -Depth 3)

# exit 1 ("issue found") makes Intune run the remediation script: when the installed key id
# or revoked ids are not the ones this script was rendered with, or the key is revoked or expired.
$current = ($installedKeyId -ceq $ThothApiKeyId) -and
  ($installedRevoked -ceq $ThothRevokedApiKeyIds) -and
  ($apiKey.revoked -ne $true) -and
  ($apiKey.expired -ne $true)
if ($current) { exit 0 }
exit 1
