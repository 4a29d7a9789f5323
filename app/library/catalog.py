"""Models on this machine: the starter model and whatever is in the models folder.

Listing reads file headers only (engines.inspect), never loads a model. A model
that fails inspection is still listed, with the reason, so the user can see why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.library.starter import STARTER_NAME, starter_model_path
from app.paths import models_dir
from engines.base import EngineError, ModelFileError, ModelInfo
from engines.inspect import inspect_model


@dataclass(frozen=True)
class LocalModel:
    name: str
    path: Path
    origin: str  # "starter" or "models folder"
    info: ModelInfo | None
    problem: str | None = None

    @property
    def engine(self) -> str:
        return self.info.engine if self.info else "?"


def _candidates(folder: Path) -> list[Path]:
    """GGUF files and MLX folders (a config.json beside weights) under the models folder."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        if (
            path.is_file()
            and path.suffix.lower() == ".gguf"
            and not path.name.endswith(".part")
            or path.is_dir()
            and (path / "config.json").exists()
        ):
            found.append(path)
    return found


def _describe(path: Path, name: str | None, origin: str) -> LocalModel:
    try:
        info = inspect_model(path)
        return LocalModel(name or info.name, path, origin, info)
    except EngineError as err:
        return LocalModel(name or path.name, path, origin, None, str(err))


def list_local_models() -> list[LocalModel]:
    models: list[LocalModel] = []
    starter = starter_model_path()
    if starter is not None:
        models.append(_describe(starter, STARTER_NAME, "starter"))
    for path in _candidates(models_dir()):
        models.append(_describe(path, None, "models folder"))
    return models


def default_model() -> LocalModel | None:
    """The model used when none is chosen: the starter, else the first usable one."""
    usable = [m for m in list_local_models() if m.info is not None]
    return usable[0] if usable else None


def resolve_model(ref: str | None) -> Path:
    """A local model's name, or a path to a GGUF file or MLX folder -> its path.

    Raises ModelFileError with one plain sentence when nothing matches.
    """
    if not ref:
        model = default_model()
        if model is None:
            raise ModelFileError(
                "No model is installed. Reinstall Parlour (make run) to get the starter model, "
                "or pass a path to a GGUF file or MLX folder."
            )
        return model.path
    candidate = Path(ref).expanduser()
    if candidate.exists() or "/" in ref or ref.endswith(".gguf"):
        return candidate
    lowered = ref.lower()
    models = list_local_models()
    for model in models:
        if lowered in (model.name.lower(), model.path.name.lower(), model.path.stem.lower()):
            return model.path
    matches = [m for m in models if lowered in m.name.lower()]
    if len(matches) == 1:
        return matches[0].path
    if len(matches) > 1:
        names = ", ".join(m.name for m in matches)
        raise ModelFileError(f"'{ref}' matches several models ({names}); be more specific.")
    raise ModelFileError(f"No local model is called '{ref}'; `parlour models` lists them.")
