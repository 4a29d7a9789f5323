"""`make package` on Linux: the one-folder bundle, a .tar.gz of it and a .deb, in dist/.

    python packaging/linux/build.py [--dist DIR] [--work DIR] [--json]

1. PyInstaller on packaging/parlour.spec makes DIR/parlour/ (the executable DIR/parlour/parlour).
2. Symbols are stripped from its shared libraries (packaging/linux/strip_libraries.py) and links
   left pointing at libraries the spec cut are removed.
3. DIR/parlour-<version>-linux-<machine>.tar.gz holds the folder: `tar xf` it, run parlour/parlour.
4. DIR/parlour_<version>_<arch>.deb installs it to /opt/parlour (packaging/linux/build_deb.py).

The tests (tests/packaging) run this same script into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SPEC = REPO / "packaging" / "parlour.spec"
sys.path.insert(0, str(HERE))

from build_deb import build_deb  # noqa: E402  (a sibling script, found through the path just set)
from strip_libraries import StripReport, strip_libraries  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from bundle_contents import CUTS  # noqa: E402

BUILD_TIMEOUT_S = 1800  # only so a hung build fails instead of hanging `make package`


def package_version() -> str:
    """The version in pyproject.toml, which is also app.__version__ and what `parlour --version` prints."""
    return str(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def run_pyinstaller(dist: Path, work: Path) -> Path:
    """PyInstaller on the spec; returns the bundle folder."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(SPEC),
    ]
    done = subprocess.run(command, cwd=REPO, timeout=BUILD_TIMEOUT_S, capture_output=True, text=True)
    (work / "pyinstaller.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise SystemExit(f"PyInstaller failed; the end of its output:\n{(done.stdout + done.stderr)[-4000:]}")
    bundle = dist / "parlour"
    if not (bundle / "parlour").is_file():
        raise SystemExit(f"PyInstaller made no {bundle / 'parlour'}.")
    return bundle


def remove_dangling_links(folder: Path) -> list[str]:
    """Links PyInstaller made next to the executable for libraries the spec then cut."""
    removed = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.is_symlink() and not path.exists():
                path.unlink()
                removed.append(str(path.relative_to(folder)))
    return sorted(removed)


def folder_size(folder: Path) -> int:
    return sum((Path(root) / name).lstat().st_size for root, _dirs, files in os.walk(folder) for name in files)


def make_tarball(bundle: Path, out_dir: Path, version: str) -> Path:
    """parlour-<version>-linux-<machine>.tar.gz with the folder `parlour/` in it, owned by root."""
    tarball = out_dir / f"parlour-{version}-linux-{platform.machine()}.tar.gz"

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(tarball, "w:gz", compresslevel=6) as archive:
        archive.add(bundle, arcname="parlour", filter=as_root)
    return tarball


def build(dist: Path, work: Path, deb: bool = True) -> dict[str, object]:
    """Everything `make package` makes; returns the paths, sizes and seconds as plain data."""
    if not sys.platform.startswith("linux"):
        raise SystemExit("packaging/linux/build.py builds the Linux packages; on macOS run packaging/macos/build.sh.")
    dist.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    version = package_version()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    bundle = run_pyinstaller(dist, work)
    seconds["pyinstaller"] = time.perf_counter() - started

    mark = time.perf_counter()
    unstripped = folder_size(bundle)
    report = strip_libraries(bundle) if "strip" in CUTS else StripReport(refused=[])
    dangling = remove_dangling_links(bundle)
    seconds["strip"] = time.perf_counter() - mark

    mark = time.perf_counter()
    tarball = make_tarball(bundle, dist, version)
    seconds["tar_gz"] = time.perf_counter() - mark

    result: dict[str, object] = {
        "version": version,
        "cuts": list(CUTS),
        "bundle": str(bundle),
        "executable": str(bundle / "parlour"),
        "tar_gz": str(tarball),
        "bundle_bytes_unstripped": unstripped,
        "bundle_bytes": folder_size(bundle),
        "stripped_libraries": report.stripped,
        "strip_refused": report.refused,
        "dangling_links_removed": dangling,
    }
    if deb:
        if shutil.which("dpkg-deb") is None:
            raise SystemExit("dpkg-deb is missing; install dpkg (Debian, Ubuntu) to build the .deb.")
        mark = time.perf_counter()
        result["deb"] = str(build_deb(bundle, dist, version, work))
        seconds["deb"] = time.perf_counter() - mark
    result["seconds"] = {name: round(value, 1) for name, value in seconds.items()}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build Parlour's Linux bundle, .tar.gz and .deb.")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where the packages go (default dist/)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pyinstaller", help="PyInstaller's work folder")
    parser.add_argument("--no-deb", action="store_true", help="skip the .deb")
    parser.add_argument("--json", action="store_true", help="print what was made as one JSON object")
    args = parser.parse_args(argv)
    result = build(args.dist.resolve(), args.work.resolve(), deb=not args.no_deb)
    if args.json:
        print(json.dumps(result))
    else:
        for key in ("bundle", "tar_gz", "deb"):
            if key in result:
                print(f"{key}: {result[key]}")
        print(f"seconds: {result['seconds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
