"""Putting a model file or folder into the library, and taking one out.

Import checks the model first (engines.inspect), then places it in the models folder
as imported/<name>/: hard-linked when the source is on the same disk (instant, no
extra space), otherwise copied to a `.part` and renamed when complete. Delete removes
only what Parlour owns; another program's model is hidden, never deleted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from app.library.catalog import (
    STARTER,
    AmbiguousModelError,
    LocalModel,
    absolute_path,
    find_local_model,
    list_hidden_models,
    shard_paths,
)
from app.library.discovery import MODELS_FOLDER
from app.library.errors import ImportRefusedError, LibraryError, explain
from app.library.settings import hidden_models, hide_model, models_folder, unhide_model
from engines.base import EngineError, ModelFileError
from engines.bounded_files import describe_kind
from engines.inspect import human_size, inspect_model

IMPORTED = "imported"


@dataclass(frozen=True)
class Removal:
    name: str
    deleted: bool  # False: hidden instead
    freed_bytes: int
    message: str  # one sentence for the user


def import_model(source: str | Path, root: Path | None = None) -> Path:
    """Place a GGUF file (all its shards) or an MLX folder in the models folder; returns where it went."""
    if not str(source).strip():
        raise ImportRefusedError("The path to import is empty; give a GGUF file or an MLX model folder.")
    typed = absolute_path(str(source))
    _check_kind(typed)  # named as typed: a link to /dev/zero is reported under its own name
    source = typed.resolve()
    root = (root or models_folder()).resolve()
    try:
        inspect_model(source)
    except EngineError as err:
        raise ImportRefusedError(str(err)) from None
    if source.is_relative_to(root):
        raise ImportRefusedError(f"{source.name} is already in Parlour's models folder.")
    if source.is_dir():
        files = [p for p in sorted(source.rglob("*")) if p.is_file()]
        name = source.name
    else:
        files = shard_paths(source)
        missing = [p.name for p in files if not p.exists()]
        if missing:
            raise ImportRefusedError(f"This model is split in parts and {missing[0]} is missing beside it.")
        name = source.stem.split("-00001-of-")[0]
    target = _free_name(root / IMPORTED / name)
    staging = target.with_name(target.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        base = source if source.is_dir() else source.parent
        for path in files:
            destination = staging / path.relative_to(base)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(path, destination)
        os.replace(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise explain(exc, folder=root) from None
    return target if source.is_dir() else target / source.name


def _check_kind(source: Path) -> None:
    """Only a regular file or a folder can be a model: a FIFO or a device is refused before it is opened."""
    try:
        mode = os.stat(source).st_mode
    except FileNotFoundError:
        raise ImportRefusedError(f"No model file or folder at {source}.") from None
    except OSError as err:
        raise ImportRefusedError(f"{source} cannot be read ({err.strerror or err.__class__.__name__}).") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ImportRefusedError(f"{source} is {describe_kind(mode)}, not a model file or folder.")


def _free_name(path: Path) -> Path:
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}-{number}")
        number += 1
    return candidate


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        shutil.copyfile(source, destination)


def delete_model(model: LocalModel, root: Path | None = None) -> Removal:
    """Delete a model Parlour owns (saying how much space that frees), or hide anyone else's."""
    if model.origin != MODELS_FOLDER:
        hide_model(model.path)
        if model.origin == STARTER:
            message = f"{model.name} comes with Parlour, so it is hidden from the list rather than deleted."
        else:
            message = f"{model.name} belongs to {model.origin}, so Parlour hid it and left its files alone."
        return Removal(model.name, False, 0, message)
    root = (root or models_folder()).resolve()
    path = model.path.resolve()
    if not path.is_relative_to(root) or path == root:
        raise LibraryError(f"{model.name} is not inside Parlour's models folder, so it was not deleted.")
    targets = [path] if path.is_dir() else shard_paths(path)
    files = [f for t in targets for f in ([p for p in t.rglob("*") if p.is_file()] if t.is_dir() else [t])]
    # A hard-linked import frees nothing while its original exists: count only the last links.
    freed = sum(f.stat().st_size for f in files if f.exists() and f.stat().st_nlink == 1)
    try:
        for target in targets:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
                for leftover in target.parent.glob(target.name + ".part*"):
                    leftover.unlink()
    except OSError as exc:
        raise explain(exc, folder=root) from None
    _prune_empty(path.parent, root)
    return Removal(model.name, True, freed, f"Deleted {model.name}; {human_size(freed)} freed.")


def _prune_empty(folder: Path, root: Path) -> None:
    """Remove the publisher/repository folders a deletion left empty."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def unhide(ref: str) -> str:
    """Show a hidden model in the library again; returns the sentence saying so.

    `ref` is matched like `parlour models rm` matches, among the hidden models only; a hidden
    path whose file has since gone can be given as listed in the settings.
    """
    hidden = list_hidden_models()
    try:
        model = find_local_model(ref, models=hidden)
    except AmbiguousModelError:
        raise
    except ModelFileError:
        gone = str(absolute_path(ref))
        for path in (ref, gone):
            if path in hidden_models():
                unhide_model(path)
                return f"{path} is no longer hidden."
        try:
            visible = find_local_model(ref)
        except ModelFileError:
            raise ModelFileError(f"No hidden model is called '{ref}'; `parlour models --hidden` lists them.") from None
        raise ModelFileError(f"{visible.name} is not hidden.") from None
    unhide_model(model.path)
    return f"{model.name} is back in the list of models."
