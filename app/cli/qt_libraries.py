"""The system libraries Qt's X11 (xcb) platform plugin needs on Linux, checked before Qt starts.

PySide6 wheels bring Qt but not the X11 helper libraries (libxcb-cursor0, libxcb-icccm4, ...).
Without them Qt prints a many-line message about plugins and aborts. Here `ldd` on the
plugin itself says exactly which shared libraries are missing, and each is named by the
package that installs it on Debian/Ubuntu and on Fedora. PySide6 is only located, never
imported, so the check costs one `ldd` run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

LDD_TIMEOUT_S = 15.0

# soname -> (Debian/Ubuntu package, Fedora package)
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libXau.so.6": ("libxau6", "libXau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "mesa-libEGL"),
    "libGL.so.1": ("libgl1", "mesa-libGL"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
}


def xcb_plugin_path() -> Path | None:
    """PySide6's Qt/plugins/platforms/libqxcb.so, found without importing PySide6; None if absent."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        plugin = Path(location) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(library: Path) -> list[str] | None:
    """The sonames `ldd` reports as "not found" for `library`, in its order; None when ldd cannot tell."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        done = subprocess.run(
            [ldd, str(library)], capture_output=True, text=True, errors="replace", timeout=LDD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    missing: list[str] = []
    for line in done.stdout.splitlines():
        name, arrow, where = line.strip().partition("=>")
        if arrow and where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def uses_xcb(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether Qt will pick its X11 plugin here: Linux, an X display, no Wayland, no other platform asked for."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and platform.split(":")[0] != "xcb":
        return False
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def packages_for(sonames: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(Debian/Ubuntu packages, Fedora packages, sonames no package is known for), each without repeats."""
    debian: list[str] = []
    fedora: list[str] = []
    unknown: list[str] = []
    for soname in sonames:
        if soname not in PACKAGES:
            unknown.append(soname)
            continue
        deb, rpm = PACKAGES[soname]
        if deb not in debian:
            debian.append(deb)
        if rpm not in fedora:
            fedora.append(rpm)
    return debian, fedora, unknown


def install_advice(sonames: list[str]) -> str:
    """One sentence naming the missing packages and the commands that install them."""
    debian, fedora, unknown = packages_for(sonames)
    parts = []
    if debian:
        parts.append(
            f"install them with `sudo apt install {' '.join(debian)}` (Debian, Ubuntu) "
            f"or `sudo dnf install {' '.join(fedora)}` (Fedora)"
        )
    if unknown:
        parts.append(f"install the packages that provide {', '.join(unknown)}")
    names = ", ".join([*debian, *unknown])
    return f"The window needs system libraries that are missing ({names}); {', and '.join(parts)}."


def missing_window_libraries() -> list[str]:
    """The sonames Qt's X11 plugin cannot find on this machine ([] when all are there or it cannot be told)."""
    if not sys.platform.startswith("linux"):
        return []
    plugin = xcb_plugin_path()
    if plugin is None:
        return []
    return missing_libraries(plugin) or []


def window_libraries_problem() -> str | None:
    """The sentence to print instead of opening the window, or None when nothing stands in the way."""
    if not uses_xcb():
        return None
    missing = missing_window_libraries()
    return install_advice(missing) if missing else None
