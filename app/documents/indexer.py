"""Bringing a collection up to date with its folders: new and changed files indexed, removed ones dropped.

A file is compared with the index by size and modification time only, so an update of an unchanged
folder costs one stat per file. Each document is written in its own transaction, so a crash or a stop
loses at most the one being indexed (the next update simply does it again), and its passages stream
into the index in batches: a huge file never sits in memory whole. One bad file never stops an
update: what could not be read is kept as that document's problem sentence, and the walk goes on.
When the collection names an embedding model, the passages without a vector get theirs at the end
(embedding.py); a failure there is one more problem sentence, and words alone still find everything.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app.documents.chunking import passages_of
from app.documents.embedding import Embedder, embed_missing
from app.documents.extract import SUPPORTED_SUFFIXES, extract_sections, is_supported
from app.documents.folder_walk import FoundFile, walk_folder
from app.documents.index import CollectionError, DocumentIndex, DocumentIndexError, absolute, is_inside
from app.documents.passages import DocumentError, Passage

log = logging.getLogger(__name__)

# After this many documents indexed in one update, the search index is merged (quicker searches).
OPTIMIZE_AFTER = 200
# How often, in passages, a long file asks whether to stop.
STOP_CHECK_PASSAGES = 64


@dataclass(frozen=True)
class IndexProgress:
    done: int  # documents indexed so far in this update (passages embedded, in the embedding stage)
    total: int  # documents this update has to index (new and changed ones), or passages to embed
    current_path: str  # the one being read now, or the embedding model ("" once all are done)
    stage: Literal["reading", "embedding"] = "reading"


@dataclass
class IndexReport:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, sentence)
    stopped: bool = False  # should_stop() ended it early; the next update does the rest
    embedded: int = 0  # passages given a vector by the collection's embedding model


@dataclass(frozen=True)
class _Work:
    found: FoundFile
    is_new: bool
    added_alone: bool


def update_collection(
    index: DocumentIndex,
    name: str,
    progress: Callable[[IndexProgress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Bring collection `name` up to date with its folders and files, and its passages' vectors when it has
    an embedding model (`embedder` when it runs that model; else one is started if there is work);
    CollectionError if there is no such collection."""
    known = index.indexed_files(name)
    report = IndexReport()
    walk_problems: list[tuple[str, str]] = []
    found, missing_folders = _walk_folders(index.folders(name), walk_problems)
    alone = {path for path, file in known.items() if file.added_alone}
    found.update(_stat_alone(alone - found.keys()))
    gone = [
        path
        for path in known.keys() - found.keys()
        if not any(is_inside(path, folder) for folder in missing_folders)  # a drive not plugged in, say
    ]
    for path in gone:
        index.remove_document(name, path)
    report.removed = len(gone)
    work = []
    for path, file in found.items():
        before = known.get(path)
        if before is not None and (before.size, before.mtime_ns) == (file.size, file.mtime_ns):
            report.unchanged += 1
        else:
            work.append(_Work(file, before is None, path in alone))
    vanished = _index_all(index, name, work, report, progress, should_stop)
    embedding_problems = _embed(index, name, report, progress, should_stop, embedder)
    report.problems[:0] = walk_problems
    # Vanished files are remembered with the walk's problems: there is no document left to hold the sentence;
    # so is an embedding failure, which belongs to no one document.
    index.finish_update(name, [*walk_problems, *vanished, *embedding_problems])
    if report.added + report.changed >= OPTIMIZE_AFTER:
        index.optimize()
    return report


def add_files(
    index: DocumentIndex,
    name: str,
    paths: Iterable[Path],
    progress: Callable[[IndexProgress], None] | None = None,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Index single files into collection `name` (kept until the file is gone); CollectionError with a
    sentence for a path that is not a readable file of a supported kind, before anything is indexed."""
    known = index.indexed_files(name)
    chosen = [_checked_file(absolute(path)) for path in paths]
    report = IndexReport()
    work = []
    for file in chosen:
        before = known.get(file.path)
        if before is not None and (before.size, before.mtime_ns) == (file.size, file.mtime_ns) and before.added_alone:
            report.unchanged += 1
        else:
            work.append(_Work(file, before is None, True))
    _index_all(index, name, work, report, progress, lambda: False)
    _embed(index, name, report, progress, lambda: False, embedder)
    return report


def _embed(
    index: DocumentIndex,
    name: str,
    report: IndexReport,
    progress: Callable[[IndexProgress], None] | None,
    should_stop: Callable[[], bool],
    embedder: Embedder | None,
) -> list[tuple[str, str]]:
    """The embedding stage of an update (unless it was stopped); returns its problem, if any, as (model, sentence)."""
    if report.stopped:
        return []
    model = index.embedding_model(name) or ""

    def embedding_progress(done: int, total: int) -> None:
        if progress is not None:
            progress(IndexProgress(done, total, model if done < total else "", "embedding"))

    report.embedded, problem = embed_missing(index, name, embedder, embedding_progress, should_stop)
    report.stopped = should_stop()
    if problem is None:
        return []
    report.problems.append((model, problem))
    return [(model, problem)]


def _checked_file(path: Path) -> FoundFile:
    try:
        info = os.stat(path)
    except OSError as error:
        reason = "it does not exist" if isinstance(error, FileNotFoundError) else (error.strerror or str(error))
        raise CollectionError(f"Parlour cannot read {path}: {reason}.", "missing") from error
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise CollectionError(f"{path} is {what}; name a document file.", "missing")
    if not is_supported(path):
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise CollectionError(f"Parlour cannot read {path.name}: it reads {kinds} files.", "unsupported")
    return FoundFile(str(path), info.st_size, info.st_mtime_ns)


def _walk_folders(folders: list[Path], problems: list[tuple[str, str]]) -> tuple[dict[str, FoundFile], list[str]]:
    """Every document file under the folders, and the folders that are not there."""
    found: dict[str, FoundFile] = {}
    missing: list[str] = []
    seen: set[tuple[int, int]] = set()
    for folder in folders:
        if not folder.exists():
            missing.append(str(folder))
            problems.append(
                (
                    str(folder),
                    f"The folder {folder} is not there (moved, deleted, or on a drive not plugged in); its documents "
                    "are kept until you remove it from the collection.",
                )
            )
            continue
        for file in walk_folder(folder, problems, is_supported, seen):
            found[file.path] = file
    return found, missing


def _stat_alone(paths: Iterable[str]) -> dict[str, FoundFile]:
    """The files added alone that are still there, as regular files."""
    found = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            found[path] = FoundFile(path, info.st_size, info.st_mtime_ns)
    return found


def _index_all(
    index: DocumentIndex,
    name: str,
    work: list[_Work],
    report: IndexReport,
    progress: Callable[[IndexProgress], None] | None,
    should_stop: Callable[[], bool],
) -> list[tuple[str, str]]:
    """Index each file of `work` into the report; returns the files that vanished meanwhile, with sentences."""
    vanished: list[tuple[str, str]] = []
    for done, item in enumerate(work):
        if should_stop():
            report.stopped = True
            return vanished
        if progress is not None:
            progress(IndexProgress(done, len(work), item.found.path))
        try:
            problem, gone = _index_one(index, name, item, should_stop)
        except _Stopped:  # inside a long file: that document was rolled back, as if never started
            report.stopped = True
            return vanished
        if problem is not None:
            report.problems.append((item.found.path, problem))
        if gone:
            vanished.append((item.found.path, problem or ""))
            report.removed += 0 if item.is_new else 1
        elif item.is_new:
            report.added += 1
        else:
            report.changed += 1
    if progress is not None:
        progress(IndexProgress(len(work), len(work), ""))
    return vanished


class _Stopped(Exception):
    """should_stop() said so while a file was being read."""


def _until_stopped(passages: Iterable[Passage], should_stop: Callable[[], bool]) -> Iterator[Passage]:
    """The passages, asking should_stop() every STOP_CHECK_PASSAGES: a huge PDF must not hold up a stop."""
    for count, passage in enumerate(passages, 1):
        if count % STOP_CHECK_PASSAGES == 0 and should_stop():
            raise _Stopped
        yield passage


def _index_one(
    index: DocumentIndex, name: str, item: _Work, should_stop: Callable[[], bool]
) -> tuple[str | None, bool]:
    """Index one file: the sentence for its problem (None when it was read whole), and whether it vanished."""
    file = item.found
    notes: list[str] = []
    try:
        passages = passages_of(extract_sections(Path(file.path), notes), file.path)
        _replace(index, name, item, passages=_until_stopped(passages, should_stop), notes=notes)
        return " ".join(notes) or None, False
    except (DocumentIndexError, _Stopped):
        raise  # the index itself failed (a full disk): no later file would fare better; or a stop
    except (DocumentError, OSError) as error:
        if isinstance(error, FileNotFoundError) or getattr(error, "kind", None) == "vanished":
            index.remove_document(name, file.path)
            return f"{os.path.basename(file.path)} disappeared while it was being indexed.", True
        problem = str(error) if isinstance(error, DocumentError) else _os_sentence(file.path, error)
    except Exception:  # an extractor's bug must cost one file, never the update
        log.exception("indexing %s failed", file.path)
        problem = f"Parlour could not read {os.path.basename(file.path)} (an unexpected error; details are in the log)."
    _replace(index, name, item, problem=problem)
    return problem, False


def _replace(
    index: DocumentIndex,
    name: str,
    item: _Work,
    passages: Iterable[Passage] = (),
    notes: list[str] | None = None,
    problem: str | None = None,
) -> None:
    file = item.found
    index.replace_document(
        name,
        file.path,
        size=file.size,
        mtime_ns=file.mtime_ns,
        passages=passages,
        problem=problem,
        notes=notes,
        added_alone=item.added_alone,
    )


def _os_sentence(path: str, error: OSError) -> str:
    return f"Parlour could not read {os.path.basename(path)} ({error.strerror or error}); check its permissions."
