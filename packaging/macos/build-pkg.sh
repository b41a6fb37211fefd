#!/usr/bin/env bash
# Build the macOS installers from the PyInstaller .app: a .pkg (silent install, MDM) and a .dmg
# (drag to Applications). Runs on macOS only (pkgbuild, productbuild, hdiutil); this repository's Linux
# machines cannot build them. CI: packaging/ci/build-installers.yml.
#
#   packaging/macos/build-pkg.sh        # -> dist/post16-desktop-<version>.pkg and .dmg
#
# Signing and notarisation (needed for Gatekeeper on managed Macs) run when the CI secrets are set:
# DEVELOPER_ID_APP, DEVELOPER_ID_INSTALLER, NOTARY_PROFILE (an `xcrun notarytool store-credentials` name).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' desktop/__init__.py)
app="Post16 Lessons.app"

python packaging/build.py --out dist
"dist/$app/Contents/MacOS/post16-desktop" --version

if [[ -n ${DEVELOPER_ID_APP:-} ]]; then
  codesign --force --deep --options runtime --timestamp --sign "$DEVELOPER_ID_APP" "dist/$app"
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/root/Applications"
ditto "dist/$app" "$staging/root/Applications/$app"

pkgbuild \
  --root "$staging/root" \
  --identifier uk.post16.lessons \
  --version "$version" \
  --install-location / \
  --scripts packaging/macos/scripts \
  "$staging/post16-desktop-component.pkg"
productbuild \
  --package "$staging/post16-desktop-component.pkg" \
  ${DEVELOPER_ID_INSTALLER:+--sign "$DEVELOPER_ID_INSTALLER"} \
  "dist/post16-desktop-$version.pkg"

mkdir -p "$staging/dmg"
ditto "dist/$app" "$staging/dmg/$app"
ln -s /Applications "$staging/dmg/Applications"
hdiutil create -volname "Post16 Lessons" -srcfolder "$staging/dmg" -ov -format UDZO \
  "dist/post16-desktop-$version.dmg"

if [[ -n ${NOTARY_PROFILE:-} ]]; then
  for file in "dist/post16-desktop-$version.pkg" "dist/post16-desktop-$version.dmg"; do
    xcrun notarytool submit "$file" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$file"
  done
fi
ls -l "dist/post16-desktop-$version.pkg" "dist/post16-desktop-$version.dmg"
