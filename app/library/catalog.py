"""Models on this machine: the starter, the models folder, and what other programs keep.

Listing reads file headers only (engines.inspect), never loads a model. A model
that fails inspection is still listed, with the reason, so the user can see why.
Each model says where it comes from (its origin); only the models folder's own
are Parlour's to delete, the others can only be hidden.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.library.discovery import MODELS_FOLDER, FoundModel, find_other_apps_models, model_paths
from app.library.errors import LibraryError
from app.library.settings import hidden_models, models_folder
from app.library.starter import STARTER_NAME, starter_model_path
from engines.base import EngineError, ModelFileError, ModelInfo
from engines.inspect import inspect_model

log = logging.getLogger("parlour.library")
STARTER = "starter"
_SHARD = re.compile(r"-00001-of-(\d{5})\.gguf$", re.IGNORECASE)


class AmbiguousModelError(ModelFileError):
    """A name that matches more than one model."""


@dataclass(frozen=True)
class LocalModel:
    name: str
    path: Path
    origin: str  # "starter", "models folder", "Hugging Face cache", "LM Studio" or "Ollama"
    info: ModelInfo | None
    problem: str | None = None
    hidden: bool = False  # the person hid it from the library (listed only when hidden ones are asked for)

    @property
    def engine(self) -> str:
        return self.info.engine if self.info else "?"

    @property
    def deletable(self) -> bool:
        """Parlour deletes only what it put in its models folder; other programs' models are hidden instead."""
        return self.origin == MODELS_FOLDER

    @property
    def size(self) -> int:
        return disk_size(self.path)


def disk_size(path: Path) -> int:
    """Bytes on disk: a folder's files, or a GGUF with all its shards (0 for what cannot be read)."""
    try:
        if path.is_dir():
            return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        shard = _SHARD.search(path.name)
        if shard:
            return sum(p.stat().st_size for p in shard_paths(path) if p.exists())
        return path.stat().st_size if path.exists() else 0
    except OSError:
        return 0


def shard_paths(first: Path) -> list[Path]:
    """A split GGUF's files, from its first shard's name."""
    match = _SHARD.search(first.name)
    if not match:
        return [first]
    count = int(match.group(1))
    stem = first.name[: match.start()]
    return [first.with_name(f"{stem}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def _describe(path: Path, name: str | None, origin: str, hidden: bool = False) -> LocalModel:
    try:
        info = inspect_model(path)
        return LocalModel(name or info.name, path, origin, info, hidden=hidden)
    except EngineError as err:
        return LocalModel(name or path.name, path, origin, None, str(err), hidden=hidden)
    except OSError as err:  # one unreadable file never empties the library
        log.warning("cannot inspect %s", path, exc_info=True)
        return LocalModel(
            name or path.name,
            path,
            origin,
            None,
            f"Parlour cannot read this model ({err.strerror or err.__class__.__name__}).",
            hidden=hidden,
        )
    except Exception as err:  # a file the checks did not foresee: still only this one is unusable
        log.error("inspecting %s failed", path, exc_info=True)
        return LocalModel(
            name or path.name,
            path,
            origin,
            None,
            f"Parlour could not inspect this model ({err.__class__.__name__}); details are in the log.",
            hidden=hidden,
        )


def _folder_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root)
    if path.is_dir():
        return "/".join(relative.parts)
    repo = "/".join(relative.parts[:-1])
    return f"{repo} · {path.name}" if repo else path.name


def list_local_models(include_hidden: bool = False) -> list[LocalModel]:
    """Every model on this machine; hidden ones too (with `hidden` set) when include_hidden."""
    hidden = hidden_models()
    found: list[FoundModel] = []
    starter = starter_model_path()
    if starter is not None:
        found.append(FoundModel(starter, STARTER_NAME, STARTER))
    try:
        root = models_folder()
        found.extend(FoundModel(p, _folder_name(p, root), MODELS_FOLDER) for p in model_paths(root))
    except LibraryError:  # an unplugged disk: list what is still here
        log.warning("the models folder is unavailable", exc_info=True)
    found.extend(find_other_apps_models())
    models: list[LocalModel] = []
    seen: set[Path] = set()
    for item in found:
        key = item.path.resolve()
        is_hidden = str(item.path) in hidden
        if key in seen or (is_hidden and not include_hidden):
            continue
        seen.add(key)
        model = _describe(item.path, item.name, item.origin, is_hidden)
        if model.info is None and item.origin not in (STARTER, MODELS_FOLDER):
            # Other programs keep models Parlour cannot run (embedders, vision, diffusion): not its business.
            log.debug("skipping %s from %s: %s", item.path, item.origin, model.problem)
            continue
        models.append(model)
    return models


def list_hidden_models() -> list[LocalModel]:
    """The models the person hid, still on disk, so they can be shown again."""
    return [m for m in list_local_models(include_hidden=True) if m.hidden]


def default_model() -> LocalModel | None:
    """The model used when none is chosen: the starter, else the first usable one."""
    usable = [m for m in list_local_models() if m.info is not None]
    return usable[0] if usable else None


def _require_name(ref: str) -> str:
    """`ref` itself; an empty or blank one would match every model, so it is refused."""
    if not ref or not ref.strip():
        raise ModelFileError("The model name is empty; give a name as `parlour models` lists it, or a path.")
    return ref


def absolute_path(ref: str) -> Path:
    """A path as the person typed it, made absolute against the folder they typed it in.

    Engines run in a process of their own, whose working folder is not the person's.
    """
    return Path(os.path.abspath(os.path.expanduser(ref)))


def find_local_model(ref: str, include_hidden: bool = False, models: list[LocalModel] | None = None) -> LocalModel:
    """A listed model by its name, file name or stem, or a unique part of its name."""
    ref = _require_name(ref)
    lowered = ref.lower()
    models = list_local_models(include_hidden) if models is None else models
    candidate = absolute_path(ref)
    exists = os.path.exists(candidate)
    for model in models:
        if exists and model.path.resolve() == candidate.resolve():
            return model
        if lowered in (model.name.lower(), model.path.name.lower(), model.path.stem.lower(), str(model.path).lower()):
            return model
    matches = [m for m in models if lowered in m.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(m.name for m in matches)
        raise AmbiguousModelError(f"'{ref}' matches several models ({names}); be more specific.")
    raise ModelFileError(f"No local model is called '{ref}'; `parlour models` lists them.")


def resolve_model(ref: str | None) -> Path:
    """A local model's name, or a path to a GGUF file or MLX folder -> its absolute path.

    None means the default model. Raises ModelFileError with one plain sentence when
    nothing matches (an empty name included).
    """
    if ref is None:
        model = default_model()
        if model is None:
            raise ModelFileError(
                "No model is installed. Reinstall Parlour (make run) to get the starter model, "
                "or pass a path to a GGUF file or MLX folder."
            )
        return model.path
    ref = _require_name(ref)
    candidate = absolute_path(ref)
    if os.path.exists(candidate):
        return candidate
    try:
        return find_local_model(ref, include_hidden=True).path
    except ModelFileError:
        if "/" in ref or ref.endswith(".gguf") or ref.startswith(("~", ".")):
            return candidate  # meant as a path: inspecting it says plainly that nothing is there
        raise


def model_details(model: LocalModel) -> list[tuple[str, str]]:
    """What the library's details pane shows, as (label, value) rows. Reads headers only."""
    from engines.inspect import human_size

    info = model.info
    rows = [("Origin", model.origin), ("Location", str(model.path)), ("Size on disk", human_size(model.size))]
    if info is None:
        return [*rows, ("Problem", model.problem or "unknown")]
    params = (
        f"{info.parameter_count / 1e9:.2f} B"
        if info.parameter_count and info.parameter_count >= 1e9
        else (f"{info.parameter_count / 1e6:.0f} M" if info.parameter_count else "unknown")
    )
    return [
        *rows,
        ("Engine", "MLX" if info.engine == "mlx" else "llama.cpp"),
        ("Format", info.format.upper()),
        ("Architecture", info.architecture or "unknown"),
        ("Parameters", params),
        ("Quantization", info.quantization or "unknown"),
        ("Context length", f"{info.context_length:,} tokens" if info.context_length else "unknown"),
        ("License", _license(model.path, info.format) or "not stated"),
        ("Chat template", "yes" if info.chat_template else "no (a plain prompt format is used)"),
    ]


def _license(path: Path, fmt: str) -> str | None:
    """From the GGUF metadata, or an MLX folder's README front matter."""
    if fmt == "gguf":
        from engines.gguf_header import GGUFFormatError, read_gguf_header

        try:
            value = read_gguf_header(path).metadata.get("general.license")
        except (GGUFFormatError, OSError):
            return None
        return value if isinstance(value, str) else None
    readme = path / "README.md"
    try:
        head = readme.read_text(encoding="utf-8", errors="replace")[:4000] if readme.is_file() else ""
    except OSError:
        return None
    match = re.search(r"^license:\s*(\S+)", head, re.MULTILINE) if head.startswith("---") else None
    return match.group(1).strip("'\"") if match else None
