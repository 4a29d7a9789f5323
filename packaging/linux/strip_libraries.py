"""Strip symbols from the shared libraries in a bundle, keeping only copies the dynamic loader still accepts.

PyInstaller's own `strip` option runs `strip` on every binary, which breaks libraries that
auditwheel repaired with patchelf (NumPy's OpenBLAS: "ELF load command address/offset not
page-aligned"). Here each library is stripped into a temporary copy, and the copy replaces the
original only when every loadable segment still has its file offset and its address congruent
modulo the page size, which is what the loader checks.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PAGE = 4096
_PT_LOAD = 1
_ELF_MAGIC = b"\x7fELF"


@dataclass
class StripReport:
    before: int = 0  # bytes of the libraries looked at
    after: int = 0
    stripped: int = 0  # libraries made smaller
    refused: list[str] | None = None  # libraries whose stripped copy would not load, left as they were


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _ELF_MAGIC
    except OSError:
        return False


def loadable_segments_aligned(path: Path) -> bool:
    """Whether every PT_LOAD segment of the ELF file at `path` has its offset congruent to its address mod a page."""
    data = path.read_bytes()
    if data[:4] != _ELF_MAGIC:
        return False
    is_64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    if is_64:
        (phoff,) = struct.unpack_from(endian + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(endian + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x2A)
    for index in range(phnum):
        at = phoff + index * phentsize
        if is_64:
            kind, _flags, offset, address = struct.unpack_from(endian + "IIQQ", data, at)
        else:
            kind, offset, address = struct.unpack_from(endian + "III", data, at)
        if kind == _PT_LOAD and (address - offset) % PAGE != 0:
            return False
    return True


def has_symbols(path: Path) -> bool:
    """Whether `readelf` lists a symbol table or debug sections to strip (skips files already stripped)."""
    listing = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=False).stdout
    return any(name in listing for name in (" .symtab", " .debug_", " .zdebug_"))


def shared_libraries(folder: Path) -> list[Path]:
    """The ELF shared libraries and extension modules under `folder` (not symlinks, not the executable)."""
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.is_symlink() or not (".so" in name and is_elf(path)):
                continue
            found.append(path)
    return sorted(found)


def strip_libraries(folder: Path) -> StripReport:
    """Strip `--strip-unneeded` every shared library under `folder` whose stripped copy still loads."""
    report = StripReport(refused=[])
    strip = shutil.which("strip")
    if strip is None or shutil.which("readelf") is None:
        return report  # binutils missing: a bigger bundle, nothing broken
    with tempfile.TemporaryDirectory(prefix="parlour-strip-") as scratch:
        for path in shared_libraries(folder):
            size = path.stat().st_size
            report.before += size
            if not has_symbols(path):
                report.after += size
                continue
            copy = Path(scratch) / path.name
            done = subprocess.run([strip, "--strip-unneeded", "-o", str(copy), str(path)], capture_output=True)
            if done.returncode != 0 or not loadable_segments_aligned(copy):
                assert report.refused is not None
                report.refused.append(str(path.relative_to(folder)))
                report.after += size
                copy.unlink(missing_ok=True)
                continue
            mode = path.stat().st_mode
            shutil.move(copy, path)
            path.chmod(mode)
            report.after += path.stat().st_size
            report.stripped += 1
    return report
