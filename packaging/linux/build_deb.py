"""Make `parlour_<version>_<arch>.deb` from the one-folder bundle, with `dpkg-deb --root-owner-group --build`.

Layout: the bundle in /opt/parlour, /usr/bin/parlour a link to /opt/parlour/parlour, the menu
entry in /usr/share/applications, the icons in the hicolor theme, and DEBIAN/control whose
Depends names the system libraries Qt's X11 plugin loads (the bundle carries some of them, but
not libxcb, libGL or libEGL, which must match the machine's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ICONS = REPO / "resources" / "icons"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
INSTALL_DIR = "opt/parlour"
MAINTAINER = "Parlour maintainers <maintainers@parlour.invalid>"

# What Qt's xcb platform plugin (libqxcb.so, libQt6XcbQpa.so.6 and the GLX/EGL integrations) links
# against, by Debian package; tests/packaging checks this against the bundled plugin. glib went
# through the 64-bit time_t rename (libglib2.0-0t64) in Debian 13 and Ubuntu 24.04.
DEPENDS = [
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-render0",
    "libxcb-shape0",
    "libxcb-shm0",
    "libxcb-sync1",
    "libxcb-util1",
    "libxcb-xfixes0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
    "libxcb-glx0",
    "libxcb1",
    "libxkbcommon-x11-0",
    "libxkbcommon0",
    "libx11-xcb1",
    "libx11-6",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
    "libglib2.0-0t64 | libglib2.0-0",
    # The C++ runtime, which the bundle takes from the system (packaging/bundle_contents.py).
    "libstdc++6",
    "libgcc-s1",
]


def debian_architecture() -> str:
    """dpkg's name for this machine's architecture (amd64, arm64...)."""
    found = shutil.which("dpkg")
    if found:
        done = subprocess.run([found, "--print-architecture"], capture_output=True, text=True, check=True)
        return done.stdout.strip()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def installed_size_kib(folder: Path) -> int:
    """Installed-Size: the tree's size in KiB, as dpkg-gencontrol counts it (one per file at least)."""
    total = 0
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            total += 1 if path.is_symlink() or path.is_dir() else (path.stat().st_size + 1023) // 1024
    return total


def _normalise_modes(root: Path) -> None:
    """Folders 0755, files 0755 when executable and 0644 otherwise: what a system package installs."""
    for base, dirs, files in os.walk(root):
        for name in dirs:
            (Path(base) / name).chmod(0o755)
        for name in files:
            path = Path(base) / name
            if path.is_symlink():
                continue
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def stage(bundle: Path, root: Path, version: str, architecture: str) -> Path:
    """Lay out the package's files under `root` (which must not exist yet)."""
    root.mkdir(parents=True)
    root.chmod(0o755)
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True)
    launcher = root / "usr" / "bin" / "parlour"
    launcher.parent.mkdir(parents=True)
    launcher.symlink_to(f"/{INSTALL_DIR}/parlour")
    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copy2(HERE / "parlour.desktop", applications / "parlour.desktop")
    hicolor = root / "usr" / "share" / "icons" / "hicolor"
    for size in ICON_SIZES:
        target = hicolor / f"{size}x{size}" / "apps" / "parlour.png"
        target.parent.mkdir(parents=True)
        shutil.copy2(ICONS / f"parlour-{size}.png", target)
    scalable = hicolor / "scalable" / "apps" / "parlour.svg"
    scalable.parent.mkdir(parents=True)
    shutil.copy2(ICONS / "parlour.svg", scalable)
    _normalise_modes(root)

    control = root / "DEBIAN"
    control.mkdir()
    fields = {
        "version": version,
        "architecture": architecture,
        "maintainer": os.environ.get("PARLOUR_DEB_MAINTAINER", MAINTAINER),
        "installed_size": str(installed_size_kib(root)),
        "depends": ", ".join(DEPENDS),
    }
    text = Template((HERE / "control.in").read_text(encoding="utf-8")).substitute(fields)
    (control / "control").write_text(text, encoding="utf-8")
    for script in ("postinst", "postrm"):
        shutil.copy2(HERE / script, control / script)
        (control / script).chmod(0o755)
    (control / "control").chmod(0o644)
    control.chmod(0o755)
    return root


def build_deb(bundle: Path, out_dir: Path, version: str, scratch: Path, compression: str = "xz") -> Path:
    """Stage the bundle under `scratch` and build the .deb into `out_dir`; returns its path."""
    architecture = debian_architecture()
    root = scratch / f"parlour_{version}_{architecture}"
    if root.exists():
        shutil.rmtree(root)
    stage(bundle, root, version, architecture)
    deb = out_dir / f"parlour_{version}_{architecture}.deb"
    deb.unlink(missing_ok=True)
    command = ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(deb)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dpkg-deb failed: {done.stderr.strip() or done.stdout.strip()}")
    shutil.rmtree(root, ignore_errors=True)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("bundle", type=Path, help="the one-folder bundle (dist/parlour)")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    parser.add_argument("--scratch", type=Path, default=REPO / "build" / "deb")
    args = parser.parse_args(argv)
    args.scratch.mkdir(parents=True, exist_ok=True)
    print(build_deb(args.bundle, args.out, args.version, args.scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
