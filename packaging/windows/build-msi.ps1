# Build the Windows MSI from the PyInstaller bundle. Runs on Windows only (WiX Toolset v5, .NET SDK);
# this repository's Linux machines cannot build it. CI: packaging/ci/build-installers.yml.
#
#   pwsh packaging/windows/build-msi.ps1            # -> dist\post16-desktop-<version>-x64.msi
#
# Needs: Python 3.11 with requirements/desktop.lock + pywin32-ctypes (keyring's Windows backend) and
# PyInstaller (pinned in requirements/dev.lock), and `dotnet tool install --global wix --version 5.0.2`.
$ErrorActionPreference = "Stop"
$Root = Resolve-Path "$PSScriptRoot\..\.."
Set-Location $Root

$Version = (Select-String -Path desktop\__init__.py -Pattern '^__version__ = "([^"]+)"').Matches[0].Groups[1].Value
python packaging\build.py --out dist
if ($LASTEXITCODE -ne 0) { throw "PyInstaller build failed" }

# The smoke test IT runs after deploying, on the freshly built bundle (no server: only --version here).
& dist\post16-desktop\post16-desktop-cli.exe --version
if ($LASTEXITCODE -ne 0) { throw "the frozen app does not start" }

wix extension add --global WixToolset.Util.wixext/5.0.2
wix build packaging\windows\post16-desktop.wxs `
  -arch x64 `
  -ext WixToolset.Util.wixext `
  -d Version=$Version `
  -bindpath Bundle=dist\post16-desktop `
  -bindpath Packaging=packaging `
  -o dist\post16-desktop-$Version-x64.msi
if ($LASTEXITCODE -ne 0) { throw "wix build failed" }

# Optional: sign with the school's or vendor's certificate (SmartScreen trusts signed MSIs).
if ($env:SIGNING_CERT_PFX) {
  signtool sign /f $env:SIGNING_CERT_PFX /p $env:SIGNING_CERT_PASSWORD /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 `
    dist\post16-desktop\post16-desktop.exe dist\post16-desktop\post16-desktop-cli.exe dist\post16-desktop-$Version-x64.msi
}
Get-Item dist\post16-desktop-$Version-x64.msi | Select-Object Name, Length
